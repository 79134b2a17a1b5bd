// Package browser drives a headless Chromium through chromedp, for the
// catalog's browser tests and for screenshots of a generated catalog (the
// README's): it finds the executable, starts it with the flags this
// project's closed network needs and a fresh profile, and records every
// console error, uncaught exception and browser log error of the page.
//
// It is a tool for tests and documentation: nothing imgctl ships may
// depend on it, and it must not fetch anything from a network (it only
// opens the URLs it is given).
package browser
