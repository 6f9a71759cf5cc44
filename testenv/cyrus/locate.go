package cyrus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// InstallHint installs what the tests need, as root, on Debian.
const InstallHint = "testenv/install.sh"

// ErrNotInstalled is returned by Start when no unpacked Cyrus is found.
var ErrNotInstalled = errors.New("cyrus IMAP is not unpacked; run " + InstallHint +
	" as root (it runs apt-get download cyrus-imapd cyrus-common and dpkg -x into ~/.cache/imapmig-testenv/cyrus-<version>)")

// CacheDir is where testenv/install.sh unpacks Cyrus:
// $XDG_CACHE_HOME/imapmig-testenv, default ~/.cache/imapmig-testenv.
func CacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "imapmig-testenv")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "imapmig-testenv")
}

// masterPath is where master lies in an unpacked (or installed) tree.
func masterPath(root string) string {
	return filepath.Join(root, "usr", "lib", "cyrus", "bin", "master")
}

// Locate returns the root of an unpacked Cyrus (the directory holding
// usr/lib/cyrus/bin): root if given, $IMAPMIG_CYRUS_ROOT, the newest
// CacheDir()/cyrus-*, or "/" for a system-wide install.
func Locate(root string) (string, error) {
	if root == "" {
		root = os.Getenv("IMAPMIG_CYRUS_ROOT")
	}
	if root != "" {
		if _, err := os.Stat(masterPath(root)); err != nil {
			return "", fmt.Errorf("%w (%v)", ErrNotInstalled, err)
		}
		return root, nil
	}
	if c := CacheDir(); c != "" {
		dirs, _ := filepath.Glob(filepath.Join(c, "cyrus-*"))
		sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
		for _, d := range dirs {
			if _, err := os.Stat(masterPath(d)); err == nil {
				return d, nil
			}
		}
	}
	if _, err := os.Stat(masterPath("/")); err == nil {
		return "/", nil
	}
	return "", ErrNotInstalled
}
