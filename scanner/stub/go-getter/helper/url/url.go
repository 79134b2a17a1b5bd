// Package url stands in for go-getter's helper/url (see ../../README.md).
package url

import "net/url"

// Parse is net/url's Parse (go-getter's differs only on Windows).
func Parse(rawURL string) (*url.URL, error) { return url.Parse(rawURL) }
