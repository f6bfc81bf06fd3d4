#!/usr/bin/env bash
# Downloads Debian wallpaper packages (photos, several megapixels each) with `apt-get download`,
# extracts them with `dpkg-deb -x` and lists the photo files with the licence of each package.
#
#   scripts/fetch-photos.sh DEST [PACKAGE...]
#
# DEST/debs/         the .deb files
# DEST/root/         the extracted packages
# DEST/photos.tsv    one row per image: path<TAB>package=version<TAB>licence (from the package's
#                    debian/copyright, summarised below)
#
# Default packages (Debian 12), about 56 MB to download:
#   mate-backgrounds 1.26.0-1      46.6 MB  GPL-2+ / CC-BY-SA (per debian/copyright; photos by the
#                                           MATE artwork team and contributors)
#   desktop-base 12.0.6+nmu1~deb12u1 7.9 MB GPL-2+ / CC-BY-SA-4.0 (Debian themes; mostly artwork)
# Others that work the same way: gnome-backgrounds (CC-BY-SA-3.0), plasma-workspace-wallpapers
# (LGPL-3 / CC-BY-SA-4.0). The copyright file of each package is kept at
# DEST/root/usr/share/doc/PACKAGE/copyright: read it for the per-file terms.
# Idempotent: packages already extracted are kept.
set -euo pipefail
dest="${1:?usage: fetch-photos.sh DEST [PACKAGE...]}"
shift
packages=("$@")
((${#packages[@]})) || packages=(mate-backgrounds desktop-base)
mkdir -p "$dest/debs" "$dest/root"
dest="$(cd "$dest" && pwd)"

for p in "${packages[@]}"; do
  if [[ -f "$dest/debs/.$p.done" ]]; then
    continue
  fi
  (cd "$dest/debs" && apt-get download -q "$p" >/dev/null)
  deb="$(ls "$dest/debs/${p}"_*.deb | head -n1)"
  dpkg-deb -x "$deb" "$dest/root"
  touch "$dest/debs/.$p.done"
done

# Licence summary per package, taken from the first License: line of its copyright file.
: >"$dest/photos.tsv"
for p in "${packages[@]}"; do
  deb="$(ls "$dest/debs/${p}"_*.deb | head -n1)"
  version="$(dpkg-deb -f "$deb" Version)"
  licences="$(grep -h '^License:' "$dest/root/usr/share/doc/$p/copyright" 2>/dev/null | sed 's/License: *//' | sort -u | paste -sd';' -)"
  dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's#^\./#/#' |
    grep -iE '\.(jpe?g|png|webp)$' | while read -r f; do
      [[ -f "$dest/root$f" ]] && printf '%s\t%s=%s\t%s\n' "$dest/root$f" "$p" "$version" "${licences:-see copyright}"
    done >>"$dest/photos.tsv"
done
echo "$(wc -l <"$dest/photos.tsv") images listed in $dest/photos.tsv"
