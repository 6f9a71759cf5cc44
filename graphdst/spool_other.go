//go:build !unix

package graphdst

import "os"

// mapFile does not map on this platform: the caller reads the file.
func mapFile(*os.File) ([]byte, func(), bool) { return nil, nil, false }
