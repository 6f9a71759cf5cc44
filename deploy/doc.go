// Package deploy holds what installs imapmig on a server, and the tests
// that check it: the hardened systemd unit (imapmig.service, verified with
// systemd-analyze), the release build script (build.sh: static, -trimpath,
// the version stamped in) and the server config (imapmig.yaml). The
// repository's Dockerfile and docker-compose.yml are checked here too;
// there is no Docker engine on the build machine, so that check is static
// (the file's properties, not a build). It has no Go code of its own.
package deploy
