#!/usr/bin/env bash
# What lrncl trusts on disk, end to end through the lrncl command: the disk cache folder is made
# private and used only when this user owns it and no one else can write it; entries of another
# user, links, FIFOs and folders at an entry's name are never loaded (nor waited on); a FIFO as the
# tuning database is not waited on; bundle binaries are checked against their manifest line (size,
# checksum bound to the variant) before the driver sees them, so truncated, damaged, swapped,
# sparse and FIFO binaries are clean errors; bundles writable by others, damaged manifests and
# manifests of an older lrncl are refused with the reason; a CRLF manifest reads; `lrncl compile`
# repairs a damaged bundle; a vendor's binary is recorded by running --emit-source again;
# concurrent compiles into one folder keep every line.
# The second user is uid 4242 through chown (as root); without root those checks are skipped, and
# say so. Usage: cli_disk_trust.sh path/to/lrncl path/to/golden   (KEEP_GOING=1: report every
# failed check, not only the first)
set -uo pipefail
lrncl=$1
golden=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() {
  echo "cli_disk_trust: $*" >&2
  failures=$((failures + 1))
  [ -n "${KEEP_GOING:-}" ] || exit 1
}
x=$golden/caffe_across_alexnet1/x.npy
x16=$golden/caffe_across_f16/x.npy
root=0
[ "$(id -u)" = 0 ] && root=1
[ $root = 1 ] || echo "cli_disk_trust: not root: the second-user checks (files and folders of uid 4242) are skipped"

# `lrncl explain` of a small within-channel problem on cache folder $1: where its program came from.
from() {
  LRNCL_CACHE_DIR=$1 timeout 120 "$lrncl" explain --mode within --size 3 --shape 1x3x8x8 > "$dir/explain" 2>&1
  local rc=$?
  [ $rc = 124 ] && { echo "hung"; return; }
  [ $rc = 0 ] || { echo "failed($rc)"; return; }
  sed -n 's/^ *from: *//p' "$dir/explain" | head -1
}
entry_of() { ls "$1"/within-*.lrnclbin 2> /dev/null | head -1; }

# ---- the cache folder ----
# made 0700 whatever the umask, the default ~/.cache/lrncl included
(umask 000; env -u LRNCL_CACHE_DIR -u XDG_CACHE_HOME HOME="$dir/home" "$lrncl" explain --mode within --size 3 \
  --shape 1x3x8x8 > /dev/null) || fail "explain with HOME=$dir/home failed"
for d in "$dir/home/.cache" "$dir/home/.cache/lrncl"; do
  m=$(stat -c %a "$d" 2> /dev/null)
  [ "$m" = 700 ] || fail "under umask 000, $d was created with mode $m, not 700"
done
# a folder others can write (a shared /tmp-like folder) is not used
mkdir "$dir/shared" && chmod 1777 "$dir/shared"
a=$(from "$dir/shared"); b=$(from "$dir/shared")
[ "$a" = built ] && [ "$b" = built ] || fail "a mode 1777 cache folder was used: first '$a', then '$b'"
[ -z "$(entry_of "$dir/shared")" ] || fail "an entry was written into a mode 1777 cache folder"
if [ $root = 1 ]; then
  mkdir "$dir/theirs" && chown 4242 "$dir/theirs"
  a=$(from "$dir/theirs"); b=$(from "$dir/theirs")
  [ "$a" = built ] && [ "$b" = built ] || fail "a cache folder of uid 4242 was used: first '$a', then '$b'"
fi

# ---- entries ----
c=$dir/cache
[ "$(from "$c")" = built ] || fail "the first explain did not build"
[ "$(from "$c")" = "disk cache" ] || fail "the second explain did not load from the disk cache"
e=$(entry_of "$c")
[ -n "$e" ] || fail "no cache entry written"
m=$(stat -c %a "$c")
[ "$m" = 700 ] || fail "the cache folder has mode $m, not 700"
if [ $root = 1 ]; then
  chown 4242 "$e"
  r=$(from "$c")
  [ "$r" = built ] || fail "an entry owned by uid 4242 was loaded ('$r')"
  [ "$(stat -c %u "$e")" = 0 ] || fail "the entry of uid 4242 was not replaced by this user's"
fi
chmod 0666 "$e"
r=$(from "$c")
[ "$r" = built ] || fail "an entry writable by others was loaded ('$r')"
mv "$e" "$dir/elsewhere" && ln -s "$dir/elsewhere" "$e"
r=$(from "$c")
[ "$r" = built ] || fail "an entry that is a symbolic link was loaded ('$r')"
[ -f "$e" ] && [ ! -L "$e" ] || fail "the link at the entry's name was not replaced by an entry"
rm -f "$e" && mkfifo "$e"
r=$(from "$c")
[ "$r" = built ] || fail "a FIFO at the entry's name: '$r' (expected a build, not a wait)"
[ -f "$e" ] || fail "the FIFO at the entry's name was not replaced by an entry"
rm -f "$e" && mkdir "$e"
r=$(from "$c")
[ "$r" = built ] || fail "an empty folder at the entry's name: '$r'"
[ -f "$e" ] && [ "$(from "$c")" = "disk cache" ] || fail "an empty folder at the entry's name was not replaced"
rm -f "$e" && mkdir "$e" && touch "$e/x"
r=$(from "$c")
[ "$r" = built ] || fail "a folder at the entry's name: '$r'"
grep -q "is a folder, not an entry" "$dir/explain" || fail "a folder at the entry's name is not reported: $(cat "$dir/explain")"
rm -rf "$e"

# ---- the tuning database ----
mkfifo "$dir/db.fifo"
LRNCL_TUNING_DB=$dir/db.fifo LRNCL_CACHE_DIR=off timeout 60 "$lrncl" explain --shape 1x3x8x8 > /dev/null 2>&1
rc=$?
[ $rc = 0 ] || fail "LRNCL_TUNING_DB naming a FIFO: exit $rc (124: it waited)"

# ---- bundles ----
export LRNCL_CACHE_DIR=off
b=$dir/bundle
"$lrncl" compile --input "$x" --output "$b" > /dev/null && "$lrncl" compile --input "$x16" --output "$b" > /dev/null \
  || fail "compile failed"
f32=$(ls "$b"/across-*-f32-*.bin)
f16=$(ls "$b"/across-*-f16-*.bin)
cp "$f32" "$dir/f32.good" && cp "$f16" "$dir/f16.good" && cp "$b/manifest.txt" "$dir/manifest.good"
restore() { cp "$dir/f32.good" "$f32"; cp "$dir/f16.good" "$f16"; cp "$dir/manifest.good" "$b/manifest.txt"; chmod 0755 "$b"; }
# run_bundle INPUT: forward from the bundle alone; its exit status, stderr in $dir/err
run_bundle() {
  rm -f "$dir/y.npy"
  timeout 120 "$lrncl" forward --binaries "$b" --input "$1" --output "$dir/y.npy" > /dev/null 2> "$dir/err"
}
# refused WHAT PATTERN [INPUT]: exit 1 (not a crash, not a wait), one line matching PATTERN, no output
refused() {
  run_bundle "${3:-$x}"
  local rc=$?
  [ $rc = 1 ] || { fail "$1: exit $rc, not 1 ($(head -c 300 "$dir/err"))"; return; }
  [ "$(wc -l < "$dir/err")" = 1 ] || fail "$1: not one line on stderr: $(cat "$dir/err")"
  grep -q -- "$2" "$dir/err" || fail "$1: the message does not say '$2': $(cat "$dir/err")"
  [ ! -e "$dir/y.npy" ] || fail "$1: an output was written"
}
run_bundle "$x" || fail "the bundle does not run: $(cat "$dir/err")"
"$lrncl" explain --binaries "$b" --input "$x" 2> /dev/null | grep -q '^disk cache: *off: a binary-only context' \
  || fail "explain --binaries does not say that the disk cache is not used"
size=$(stat -c %s "$f32")
for n in 0 1 24 100 4096 $((size / 2)) $((size - 1)); do
  head -c $n "$dir/f32.good" > "$f32"
  refused "a binary truncated to $n bytes" "holds $n bytes, but manifest.txt records $size.*lrncl compile --mode across"
done
restore
python3 - "$f32" << 'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x40
open(p, 'wb').write(bytes(b))
EOF
refused "a binary with one byte changed" "checksum"
restore
# the f32 binary in the f16 slot, its manifest line's size and checksum copied too: the checksum
# binds the binary to its variant
cp "$dir/f32.good" "$f16"
awk -F'\t' -v OFS='\t' '$1 == "program" && $2 ~ /-f32-/ { s = $4; k = $5 } { line[NR] = $0; n = NR }
  END { for (i = 1; i <= n; i++) { split(line[i], f, "\t");
        if (f[1] == "program" && f[2] ~ /-f16-/) { f[4] = s; f[5] = k; line[i] = f[1]; for (j = 2; j <= 6; j++) line[i] = line[i] OFS f[j] }
        print line[i] } }' "$dir/manifest.good" > "$b/manifest.txt"
refused "the f32 binary under the f16 name (line copied)" "another variant's binary" "$x16"
restore
truncate -s 1073741824 "$f32"
t0=$(date +%s)
refused "a sparse 1 GiB binary" "holds 1073741824 bytes"
[ $(($(date +%s) - t0)) -le 10 ] || fail "the sparse 1 GiB binary took $(($(date +%s) - t0)) s to refuse"
truncate -s 1073741825 "$f32"
refused "a binary over 1 GiB" "too large"
rm -f "$f32" && mkfifo "$f32"
refused "a FIFO as the binary" "not a regular file"
rm -f "$f32" && restore
rm -f "$b/manifest.txt" && mkfifo "$b/manifest.txt"
refused "a FIFO as manifest.txt" "not a regular file"
rm -f "$b/manifest.txt" && restore
sed 's/$/\r/' "$dir/manifest.good" > "$b/manifest.txt"
run_bundle "$x" || fail "a manifest with CRLF line ends: $(cat "$dir/err")"
restore
chmod 0775 "$b"
refused "a group-writable bundle folder" "writable by group or others"
restore
chmod 0666 "$b/manifest.txt"
refused "a manifest writable by others" "writable by group or others"
restore && chmod 0644 "$b/manifest.txt"
chmod 0646 "$f32"
refused "a binary writable by others" "writable by group or others"
chmod 0644 "$f32"
# a manifest of an older lrncl: refused with the command that remakes it, which does
awk -F'\t' -v OFS='\t' '$1 == "format" { next } $1 == "program" { print $1, $2, $3, $6; next } { print }' \
  "$dir/manifest.good" > "$b/manifest.txt"
refused "a manifest of an older lrncl" "older lrncl.*lrncl compile --mode across"
cmd=$(sed 's/.*remake it with: lrncl //' "$dir/err")
eval "\"\$lrncl\" $cmd" > /dev/null || fail "the command the message gives failed: lrncl $cmd"
run_bundle "$x" || fail "after the command the message gives: $(cat "$dir/err")"
restore

# ---- a vendor's binary (here the device's own, as cli_fpga_bundle.sh does) is recorded by
# running the --emit-source command again ----
vb=$dir/vendor
"$lrncl" compile --emit-source --input "$x" --output "$vb" > /dev/null || fail "compile --emit-source failed"
cp "$f32" "$vb/$(basename "$f32")"
b_keep=$b; b=$vb
refused "a vendor's binary not yet recorded" "not recorded in manifest.txt"
"$lrncl" compile --emit-source --input "$x" --output "$vb" > /dev/null || fail "compile --emit-source again failed"
run_bundle "$x" || fail "the vendor's binary, recorded: $(cat "$dir/err")"
b=$b_keep

# ---- lrncl compile repairs what is damaged ----
for damage in truncated empty folder; do
  rm -f "$f32"
  case $damage in
    truncated) head -c 1000 "$dir/f32.good" > "$f32" ;;
    empty) : > "$f32" ;;
    folder) mkdir "$f32" ;;
  esac
  "$lrncl" compile --input "$x" --output "$b" > /dev/null 2> "$dir/err" || fail "compile over a $damage binary: $(cat "$dir/err")"
  run_bundle "$x" || fail "compile left a $damage binary: $(cat "$dir/err")"
  rm -rf "$f32" && restore
done

# ---- damaged manifests are refused, never discarded ----
for damage in nul big badline; do
  restore
  case $damage in
    nul) printf 'x\0y\n' >> "$b/manifest.txt" ;;
    big) head -c 1100000 /dev/zero | tr '\0' '#' >> "$b/manifest.txt" ;;
    badline) echo "garbage" >> "$b/manifest.txt" ;;
  esac
  cp "$b/manifest.txt" "$dir/damaged"
  "$lrncl" compile --mode within --shape 1x3x8x8 --output "$b" > /dev/null 2> "$dir/err"
  rc=$?
  [ $rc = 1 ] || fail "compile into a bundle whose manifest is damaged ($damage): exit $rc, not 1"
  grep -q "manifest" "$dir/err" || fail "compile, damaged manifest ($damage): $(cat "$dir/err")"
  cmp -s "$b/manifest.txt" "$dir/damaged" || fail "compile changed a damaged manifest ($damage)"
done
restore

# ---- four compiles into one folder at once keep every line ----
cb=$dir/concurrent
pids=()
"$lrncl" compile --mode across --size 5 --shape 1x8x4x4 --output "$cb" > /dev/null 2> "$dir/c1" & pids+=($!)
"$lrncl" compile --mode within --size 3 --shape 1x3x8x8 --output "$cb" > /dev/null 2> "$dir/c2" & pids+=($!)
"$lrncl" compile --mode across --size 3 --shape 1x8x4x4 --output "$cb" > /dev/null 2> "$dir/c3" & pids+=($!)
"$lrncl" compile --mode within --size 5 --shape 1x3x8x8 --output "$cb" > /dev/null 2> "$dir/c4" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent compile failed: $(cat "$dir"/c?)"; done
lines=$(grep -c $'^program\t' "$cb/manifest.txt")
bins=$(ls "$cb"/*.bin | wc -l)
[ "$lines" -ge 4 ] && [ "$lines" = "$bins" ] || fail "four concurrent compiles left $bins binaries and $lines program lines"
for p in "across --size 5 --shape 1x8x4x4" "within --size 3 --shape 1x3x8x8" "across --size 3 --shape 1x8x4x4" \
         "within --size 5 --shape 1x3x8x8"; do
  # shellcheck disable=SC2086
  "$lrncl" explain --binaries "$cb" --mode $p > "$dir/explain" 2>&1 || fail "after concurrent compiles, $p: $(cat "$dir/explain")"
done

[ $failures = 0 ] || { echo "cli_disk_trust: $failures check(s) failed" >&2; exit 1; }
echo "cli_disk_trust: ok"
