#!/usr/bin/env bash
# lrncl forward/backward write their outputs all or nothing: when one output cannot be written
# (a missing folder, a directory in its place, a read-only folder or file, /dev/full), the
# command exits 1 with one line on stderr and every regular output path holds exactly what it
# held before (or stays absent), with no temporary or backup files left beside it. A run that
# succeeds replaces both outputs, keeping each file's mode (and owner, as root), writing through
# a symbolic link to its target, syncing file and folder. Outputs that are not regular files
# (devices, FIFOs, pipes through /dev/fd/N) are written in place and stay what they are. Two
# outputs naming one file are refused. Commands whose standard output cannot be written
# (> /dev/full) exit 1 with one line saying so.
# Usage: cli_outputs.sh path/to/lrncl
set -euo pipefail
lrncl=$1
golden=$(cd "$(dirname "$0")/golden/caffe_across_size3" && pwd)
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
fail() { echo "cli_outputs: $*" >&2; exit 1; }
params=(--mode across --size 3 --alpha 0.1 --beta 0.5 --k 1)
root=0
[ "$(id -u)" = 0 ] && root=1
# names a case may leave in $dir besides the outputs (files the case made itself)
keep=()

printf 'the old y\n' > "$dir/y.npy"
printf 'the old scale\n' > "$dir/s.npy"
cp "$dir/y.npy" "$dir/y.before"
cp "$dir/s.npy" "$dir/s.before"

# expect_refused LABEL ARGS...: exit 1, one stderr line, y.npy and s.npy unchanged, no leftovers.
expect_refused() {
  local label=$1; shift
  local rc=0
  "$lrncl" "$@" > "$dir/out" 2> "$dir/err" || rc=$?
  [ "$rc" = 1 ] || fail "$label: exit $rc, expected 1 (stderr: $(cat "$dir/err"))"
  [ "$(wc -l < "$dir/err")" = 1 ] || fail "$label: expected one line on stderr, got: $(cat "$dir/err")"
  cmp -s "$dir/y.npy" "$dir/y.before" || fail "$label: y.npy was changed or removed"
  cmp -s "$dir/s.npy" "$dir/s.before" || fail "$label: s.npy was changed or removed"
  local extra k pats=()
  for k in y.npy s.npy y.before s.before out err sub ro "${keep[@]}"; do pats+=(-e "$k"); done
  extra=$(cd "$dir" && ls -A | grep -v -x "${pats[@]}" || true)
  [ -z "$extra" ] || fail "$label: files left behind: $extra"
  [ -z "$(ls -A "$dir/ro" 2>/dev/null | grep -v -x s.npy || true)" ] || fail "$label: files left in ro/"
}

# The scale output in a folder that does not exist.
expect_refused "scale in a missing folder" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/y.npy" --scale-output "$dir/no/such/folder/s.npy"
# The scale output is a directory.
mkdir "$dir/sub"
expect_refused "scale is a directory" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/y.npy" --scale-output "$dir/sub"
# The first output is a directory, the second an existing file: neither may change.
expect_refused "output is a directory" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/sub" --scale-output "$dir/s.npy"
# The scale output in a read-only folder (skipped as root, who may write there anyway).
if [ "$(id -u)" != 0 ]; then
  mkdir "$dir/ro"
  cp "$dir/s.before" "$dir/ro/s.npy"
  chmod a-w "$dir/ro"
  expect_refused "scale in a read-only folder" forward "${params[@]}" --input "$golden/x.npy" \
    --output "$dir/y.npy" --scale-output "$dir/ro/s.npy"
  cmp -s "$dir/ro/s.npy" "$dir/s.before" || fail "the read-only folder's s.npy changed"
else
  echo "cli_outputs: running as root: the read-only folder case is skipped (root writes there anyway)"
fi
# Backward: dx where a directory is, with y.npy as --output of an earlier success untouched.
expect_refused "backward output is a directory" backward "${params[@]}" --input "$golden/x.npy" \
  --grad-output "$golden/dy.npy" --output "$dir/sub"

# expect_error LABEL PATTERN ARGS...: expect_refused, and the line says PATTERN.
expect_error() {
  local label=$1 pattern=$2; shift 2
  expect_refused "$label" "$@"
  grep -q -e "$pattern" "$dir/err" || fail "$label: the error does not say '$pattern': $(cat "$dir/err")"
}
fwd=(forward "${params[@]}" --input "$golden/x.npy")

# ---- the same file named for two outputs ----
expect_error "the same path twice" "the same file" "${fwd[@]}" --output "$dir/s.npy" --scale-output "$dir/./s.npy"
ln "$dir/y.npy" "$dir/hard.npy"
keep+=(hard.npy)
expect_error "a hard link to the other output" "the same file" "${fwd[@]}" --output "$dir/y.npy" \
  --scale-output "$dir/hard.npy"
ln -s y.npy "$dir/soft.npy"
keep+=(soft.npy)
expect_error "a symbolic link to the other output" "the same file" "${fwd[@]}" --output "$dir/soft.npy" \
  --scale-output "$dir/y.npy"
expect_error "one new file twice, spelt two ways" "the same file" "${fwd[@]}" --output "$dir/new.npy" \
  --scale-output "$dir/sub/../new.npy"
[ ! -e "$dir/new.npy" ] || fail "a refused run created new.npy"

# ---- read-only files and links to nowhere are refused (root too: the file says read-only) ----
chmod 0444 "$dir/s.npy"
expect_error "a read-only scale file" "read-only" "${fwd[@]}" --output "$dir/y.npy" --scale-output "$dir/s.npy"
chmod 0644 "$dir/s.npy"
ln -s nowhere.npy "$dir/dangling.npy"
keep+=(dangling.npy)
expect_error "a link to nowhere" "does not exist" "${fwd[@]}" --output "$dir/y.npy" --scale-output "$dir/dangling.npy"
[ ! -e "$dir/nowhere.npy" ] || fail "a link to nowhere created its target"

# ---- outputs that are not regular files: written in place, never replaced ----
# As root, the devices are copies made with mknod (the real /dev/null and /dev/full are never
# named: a broken lrncl would replace them for the whole machine); others use the real ones,
# which they cannot replace.
if [ $root = 1 ]; then
  mknod "$dir/null" c 1 3
  mknod "$dir/full" c 1 7
  null=$dir/null full=$dir/full
  keep+=(null full)
else
  null=/dev/null full=/dev/full
fi
"$lrncl" "${fwd[@]}" --output "$null" --scale-output "$dir/s.npy" 2> "$dir/err" ||
  fail "--output on a null device failed: $(cat "$dir/err")"
[ -c "$null" ] || fail "--output $null is no longer a character device: $(ls -l "$null")"
head -c 6 "$dir/s.npy" | grep -q NUMPY || fail "the scale beside a null device output was not written"
cp "$dir/s.before" "$dir/s.npy"
expect_error "a full device" "No space left" "${fwd[@]}" --output "$full" --scale-output "$dir/s.npy"
[ -c "$full" ] || fail "--output $full is no longer a character device: $(ls -l "$full")"

# A good run's bytes, to compare the streams with.
"$lrncl" "${fwd[@]}" --output "$dir/ref.npy" 2> "$dir/err" || fail "the reference run failed: $(cat "$dir/err")"
keep+=(ref.npy)
# A FIFO gets the file and stays a FIFO.
mkfifo "$dir/fifo"
keep+=(fifo fifo.got)
timeout 60 cat "$dir/fifo" > "$dir/fifo.got" &
reader=$!
rc=0
timeout 60 "$lrncl" "${fwd[@]}" --output "$dir/fifo" 2> "$dir/err" || rc=$?
wait $reader || true
[ $rc = 0 ] || fail "--output on a FIFO exited $rc: $(cat "$dir/err")"
[ -p "$dir/fifo" ] || fail "--output on a FIFO replaced it: $(ls -l "$dir/fifo")"
cmp -s "$dir/fifo.got" "$dir/ref.npy" || fail "the FIFO's reader did not get the file"
# A pipe, through the process's own descriptors.
for stream in /dev/fd/1 /proc/self/fd/1; do
  "$lrncl" "${fwd[@]}" --output "$stream" 2> "$dir/err" | cat > "$dir/piped" ||
    fail "--output $stream into a pipe failed: $(cat "$dir/err")"
  cmp -s "$dir/piped" "$dir/ref.npy" || fail "--output $stream: the pipe did not get the file"
done
# /dev/stdout is the same path in lrncl (a stream's name); as root it is not tried here, since a
# broken lrncl would replace the machine's /dev/stdout.
if [ $root = 0 ]; then
  "$lrncl" "${fwd[@]}" --output /dev/stdout 2> "$dir/err" | cat > "$dir/piped" ||
    fail "--output /dev/stdout into a pipe failed: $(cat "$dir/err")"
  cmp -s "$dir/piped" "$dir/ref.npy" || fail "--output /dev/stdout: the pipe did not get the file"
fi
# Standard output on a file the shell opened for appending: written there, after what it holds.
keep+=(piped appended)
printf 'before\n' > "$dir/appended"
"$lrncl" "${fwd[@]}" --output /dev/fd/1 >> "$dir/appended" 2> "$dir/err" ||
  fail "--output /dev/fd/1 appending to a file failed: $(cat "$dir/err")"
{ printf 'before\n'; cat "$dir/ref.npy"; } | cmp -s - "$dir/appended" || fail "--output /dev/fd/1 did not append"
# A reader that went away: an error (not a SIGPIPE death leaving the staged scale behind), and
# the regular output unchanged. (true exits long before lrncl has computed anything.)
set +e
"$lrncl" "${fwd[@]}" --output /dev/fd/1 --scale-output "$dir/s.npy" 2> "$dir/err" | true
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 1 ] && grep -q "Broken pipe" "$dir/err" || fail "--output into a closed pipe: exit $rc: $(cat "$dir/err")"
cmp -s "$dir/s.npy" "$dir/s.before" || fail "--output into a closed pipe changed s.npy"
[ -z "$(ls -A "$dir" | grep -e '\.tmp-' -e '\.keep-' || true)" ] || fail "--output into a closed pipe left files behind"
# A stream that fails (a full device on descriptor 1) is an error too.
set +e
"$lrncl" "${fwd[@]}" --output /dev/fd/1 > "$full" 2> "$dir/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "No space left" "$dir/err" || fail "--output /dev/fd/1 > $full: exit $rc: $(cat "$dir/err")"

# ---- replacing keeps the mode, the owner (root), links; syncs ----
chmod 0600 "$dir/y.npy"
"$lrncl" "${fwd[@]}" --output "$dir/y.npy" 2> "$dir/err" || fail "the run over a 0600 file failed: $(cat "$dir/err")"
[ "$(stat -c %a "$dir/y.npy")" = 600 ] || fail "a 0600 output became $(stat -c %a "$dir/y.npy")"
cmp -s "$dir/y.npy" "$dir/ref.npy" || fail "the 0600 output was not replaced"
cp "$dir/y.before" "$dir/y.npy"
(umask 027 && "$lrncl" "${fwd[@]}" --output "$dir/fresh.npy" 2> "$dir/err") || fail "a new output failed: $(cat "$dir/err")"
keep+=(fresh.npy)
[ "$(stat -c %a "$dir/fresh.npy")" = 640 ] || fail "a new output under umask 027 is $(stat -c %a "$dir/fresh.npy"), not 640"
mkdir "$dir/real"
keep+=(real link.npy)
cp "$dir/y.before" "$dir/real/y.npy"
chmod 0640 "$dir/real/y.npy"
ln -s real/y.npy "$dir/link.npy"
"$lrncl" "${fwd[@]}" --output "$dir/link.npy" 2> "$dir/err" || fail "the run through a link failed: $(cat "$dir/err")"
[ -L "$dir/link.npy" ] || fail "the symbolic link output became a plain file"
cmp -s "$dir/real/y.npy" "$dir/ref.npy" || fail "the link's target was not replaced"
[ "$(stat -c %a "$dir/real/y.npy")" = 640 ] || fail "the link's 0640 target became $(stat -c %a "$dir/real/y.npy")"
[ -z "$(ls -A "$dir/real" | grep -v -x y.npy || true)" ] || fail "files left beside the link's target: $(ls -A "$dir/real")"
if [ $root = 1 ]; then
  chown 4242:4343 "$dir/y.npy"
  "$lrncl" "${fwd[@]}" --output "$dir/y.npy" 2> "$dir/err" || fail "the run over another user's file failed"
  [ "$(stat -c %u:%g "$dir/y.npy")" = 4242:4343 ] || fail "the owner 4242:4343 became $(stat -c %u:%g "$dir/y.npy")"
  cp "$dir/y.before" "$dir/y.npy"
  chown 0:0 "$dir/y.npy"
else
  echo "cli_outputs: not root: keeping another user's ownership is not checked (only root may chown)"
fi
if command -v strace > /dev/null && strace -f -o /dev/null true 2> /dev/null; then
  # (LeakSanitizer cannot run under ptrace: off for this run of a sanitizer build)
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=fsync,rename,renameat,renameat2 -o "$dir/trace" "$lrncl" "${fwd[@]}" \
    --output "$dir/y.npy" 2> "$dir/err" || fail "the traced run failed: $(cat "$dir/err")"
  keep+=(trace)
  # the file's fsync, then its rename, then the folder's fsync
  order=$(grep -E 'fsync\(|rename' "$dir/trace" | grep -v -e '= -1' | sed -E 's/.*(fsync|rename[a-z0-9]*)\(.*/\1/' |
          tr '\n' ' ')
  echo "$order" | grep -Eq 'fsync rename[a-z0-9]* fsync' || fail "no fsync before and after the rename: $order"
  cp "$dir/y.before" "$dir/y.npy"
else
  echo "cli_outputs: strace cannot run here: the fsync before and after the rename is not checked"
fi

# ---- commands whose standard output cannot be written ----
for cmd in "devices" "explain ${params[*]} --shape 1x8x4x4" "--version" "--help" "forward --help" "tune --help" "bench --help" \
           "compile ${params[*]} --shape 1x8x4x4 --output $dir/bundle"; do
  set +e
  # shellcheck disable=SC2086
  "$lrncl" $cmd > "$full" 2> "$dir/err"; rc=$?
  set -e
  [ $rc = 1 ] || fail "lrncl $cmd > $full exited $rc, not 1"
  [ "$(wc -l < "$dir/err")" = 1 ] && grep -q "cannot write to standard output" "$dir/err" ||
    fail "lrncl $cmd > $full: $(cat "$dir/err")"
done
keep+=(bundle)

# Success replaces both.
"$lrncl" forward "${params[@]}" --input "$golden/x.npy" --output "$dir/y.npy" --scale-output "$dir/s.npy" \
  2> "$dir/err" || fail "the good run failed: $(cat "$dir/err")"
cmp -s "$dir/y.npy" "$dir/y.before" && fail "the good run left y.npy as it was"
cmp -s "$dir/s.npy" "$dir/s.before" && fail "the good run left s.npy as it was"
head -c 6 "$dir/y.npy" | grep -q NUMPY || fail "y.npy is not a .npy file after the good run"
head -c 6 "$dir/s.npy" | grep -q NUMPY || fail "s.npy is not a .npy file after the good run"
leftover=$(cd "$dir" && ls -A | grep -e '\.tmp-' -e '\.keep-' || true)
[ -z "$leftover" ] || fail "the good run left: $leftover"
echo "cli_outputs: ok"
