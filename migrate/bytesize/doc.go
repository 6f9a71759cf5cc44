// Package bytesize prints byte counts in binary units (B, KiB, MiB, …) with
// one decimal, the one form the CLI's tables and the report mail share.
package bytesize
