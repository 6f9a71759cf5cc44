//go:build !linux

package graphdst

import "os"

// mapFile does not map on this platform: the caller reads the file.
func mapFile(*os.File) (*spool, bool) { return nil, false }
