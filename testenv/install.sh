#!/bin/sh
# Installs what the test suite needs on Debian, as root, and does nothing when
# everything is there (README.md, "Run the tests", calls it):
#   - Dovecot (dovecot-imapd), when no dovecot binary is found;
#   - Cyrus IMAP, unpacked privately: cyrus-imapd conflicts with dovecot-imapd
#     (both provide imap-server), so its packages are fetched with
#     apt-get download and unpacked with dpkg -x into
#     ${XDG_CACHE_HOME:-~/.cache}/imapmig-testenv/cyrus-<version>, where
#     testenv/cyrus finds them; the libraries it links against and
#     saslpasswd2 (sasl2-bin) are installed normally;
#   - Chromium (the web console's browser test), promtool (Debian's
#     prometheus package; checks /metrics) and systemd-analyze (checks the
#     systemd unit in deploy/), when their commands are missing.
# It runs apt-get update at most once, and only when something is missing.
set -eu
export PATH="$PATH:/usr/sbin:/sbin"

libs="sasl2-bin libsasl2-2 libsasl2-modules libsasl2-modules-db libical3 libicu72 libjansson4 libkrb5-3 \
libldap-2.5-0 libpcre3 libpq5 libsqlite3-0 libssl3 libstdc++6 libwrap0 libxapian30 libxml2 zlib1g libcom-err2"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/imapmig-testenv"

missing=""
command -v dovecot >/dev/null || missing="dovecot-imapd"
command -v chromium >/dev/null || missing="$missing chromium"
command -v promtool >/dev/null || missing="$missing prometheus"
command -v systemd-analyze >/dev/null || missing="$missing systemd"
for p in $libs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
have_cyrus=no
for m in "$cache"/cyrus-*/usr/lib/cyrus/bin/master; do
	[ -x "$m" ] && have_cyrus=yes
done
if [ -z "$missing" ] && [ "$have_cyrus" = yes ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "testenv/install.sh: missing:$missing$( [ "$have_cyrus" = yes ] || echo ' cyrus (unpacked)'); run it as root" >&2
	exit 1
fi

apt-get update
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
if [ "$have_cyrus" = no ]; then
	tmp=$(mktemp -d)
	chmod 755 "$tmp" # apt's download sandbox user must be able to write here
	(cd "$tmp" && apt-get download cyrus-imapd cyrus-common)
	version=$(dpkg-deb -f "$tmp"/cyrus-imapd_*.deb Version)
	dest="$cache/cyrus-$version"
	rm -rf "$dest.partial"
	mkdir -p "$dest.partial"
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$dest.partial"
	done
	rm -rf "$dest"
	mv "$dest.partial" "$dest"
	rm -rf "$tmp"
	echo "testenv/install.sh: Cyrus IMAP $version unpacked into $dest"
fi
