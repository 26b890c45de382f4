#!/bin/sh
# Nightly page views for every course in courses.txt, added to what earlier nights read.
#
# Reads the last two days (so a night that failed is caught up the next night), but
# --incremental fetches only what the store does not hold yet, re-reading the newest
# hour each user had (page views reach Canvas late). Reports cover the whole range
# from the store; logs are JSON lines for a log collector. Each night's reports are
# named for its range (user-pageviews_1693_2015-03-10-2015-03-12.csv); the newest
# PAGEVIEWS_KEEP nights' are kept in each course's folder, older ones removed.
# Exit codes: pageviews's (docs/usage.md#exit-codes); 127 when pageviews cannot be found.
#
# Environment (cron and systemd start with almost none: set these where they run it):
#   CANVAS_BASE_URL        the Canvas address, e.g. https://canvas.example.edu (required)
#   PAGEVIEWS_TOKEN_FILE   a file holding the token (0600), or the token in CANVAS_TOKEN
#   PAGEVIEWS              the pageviews command; default: pageviews on PATH, else the
#                          virtual environment .venv beside this script or two folders up
#   PAGEVIEWS_HOME         holds the store and reports/ (default: this script's folder)
#   PAGEVIEWS_STATE        the state store: a SQLite file, or a PostgreSQL database's
#                          postgresql:// URL (its password stays off the command line)
#                          (default: pageviews-state.sqlite in PAGEVIEWS_HOME)
#   PAGEVIEWS_COURSES      the courses file (default: courses.txt beside this script)
#   PAGEVIEWS_START        the range's start (default -2d: two days ago; any --start_time)
#   PAGEVIEWS_KEEP         nights of reports kept per course (default 14; 0 keeps all)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
home=${PAGEVIEWS_HOME:-$here}
keep=${PAGEVIEWS_KEEP:-14}
# pageviews reads it from the environment: a URL's password never shows in ps.
export PAGEVIEWS_STATE="${PAGEVIEWS_STATE:-$home/pageviews-state.sqlite}"
token_file=${PAGEVIEWS_TOKEN_FILE:+--token-file "$PAGEVIEWS_TOKEN_FILE"}

pageviews=${PAGEVIEWS:-}
if [ -z "$pageviews" ]; then
    for candidate in "$(command -v pageviews || true)" "$here/.venv/bin/pageviews" \
        "$here/../../.venv/bin/pageviews"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            pageviews=$candidate
            break
        fi
    done
fi
if [ -z "$pageviews" ]; then
    echo "nightly.sh: pageviews not found on PATH ($PATH) nor in $here/.venv: set PAGEVIEWS" >&2
    exit 127
fi

status=0
# shellcheck disable=SC2086  # token_file is two words or none
"$pageviews" batch \
    --courses-file "${PAGEVIEWS_COURSES:-$here/courses.txt}" \
    --start_time="${PAGEVIEWS_START:--2d}" --end_time=today \
    --enrollment_types StudentEnrollment \
    --incremental \
    --out-dir "$home/reports" \
    --log-format json \
    $token_file || status=$?

# Older nights' files go only after a run that wrote tonight's (0, 9 or 15), newest kept.
case $status in 0 | 9 | 15) ;; *) exit "$status" ;; esac
if [ "$keep" -gt 0 ]; then
    for dir in "$home/reports"/*/; do
        [ -d "$dir" ] || continue
        ls "$dir" |
            sed -n 's/^[a-z-]*_[0-9]*_\([0-9-]\{21\}\)\.[a-z]*$/\1/p' |
            sort -ru | tail -n +"$((keep + 1))" |
            while read -r label; do rm -f "$dir"*_"$label".*; done
    done
fi
exit "$status"
