package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenEnv is the environment variable holding the API token.
const TokenEnv = "IMAPMIG_API_TOKEN"

// TokenFileName is the token file in the data directory.
const TokenFileName = "api.token"

// LoadToken returns the API token: IMAPMIG_API_TOKEN when set, else the
// token file in dataDir, created (0600) with a random token when missing.
func LoadToken(dataDir string) (string, error) {
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, nil
	}
	path := filepath.Join(dataDir, TokenFileName)
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(buf)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// ReadToken reads the token without creating one (for the CLI).
func ReadToken(dataDir string) (string, error) {
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFileName))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
