package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// HeaderHash hashes a message's raw header block: the exact bytes up to and
// excluding the first empty line. It is the content part of a source key.
func HeaderHash(header []byte) string {
	sum := sha256.Sum256(header)
	return hex.EncodeToString(sum[:16])
}

// SourceKey joins a header hash and the message's 1-based ordinal among the
// exact duplicates of that header in one folder: the first copy is the bare
// hash, later ones get "#2", "#3", ….
func SourceKey(headerHash string, ordinal int) string {
	if ordinal <= 1 {
		return headerHash
	}
	return headerHash + "#" + strconv.Itoa(ordinal)
}

// SplitSourceKey is the inverse of SourceKey.
func SplitSourceKey(key string) (headerHash string, ordinal int) {
	h, n, ok := strings.Cut(key, "#")
	if !ok {
		return key, 1
	}
	o, err := strconv.Atoi(n)
	if err != nil || o < 2 {
		return key, 1
	}
	return h, o
}

// HeaderBlock returns the header block of a raw RFC 5322 message: the bytes
// before the first empty line (CRLF CRLF or LF LF), or all of raw when there
// is no body.
func HeaderBlock(raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(raw) && raw[j] == '\r' {
			j++
		}
		if j < len(raw) && raw[j] == '\n' {
			return raw[:i+1]
		}
		if j == len(raw) {
			return raw[:i+1]
		}
	}
	return raw
}
