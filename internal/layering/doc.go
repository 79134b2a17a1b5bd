// Package layering holds no code: its test enforces the architecture's
// layering (load → observe → compute → apply) by checking which of the
// module's packages import which.
package layering
