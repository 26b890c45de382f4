#!/bin/sh
# Nightly page views for every course in courses.txt, added to what earlier nights read.
#
# Reads the last two days (so a night that failed is caught up the next night), but
# --incremental fetches only what the store does not hold yet, re-reading the newest
# hour each user had (page views reach Canvas late). Reports cover the whole range
# from the store; logs are JSON lines for a log collector. Exit codes: see the README.
#
# Environment: CANVAS_BASE_URL, and the token in CANVAS_TOKEN or PAGEVIEWS_TOKEN_FILE.
# PAGEVIEWS_HOME holds the store and the reports (default: this script's folder).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
home=${PAGEVIEWS_HOME:-$here}
pageviews=${PAGEVIEWS:-pageviews}
token_file=${PAGEVIEWS_TOKEN_FILE:+--token-file "$PAGEVIEWS_TOKEN_FILE"}

# shellcheck disable=SC2086  # token_file is two words or none
exec "$pageviews" batch \
    --courses-file "${PAGEVIEWS_COURSES:-$here/courses.txt}" \
    --start_time="${PAGEVIEWS_START:--2d}" --end_time=today \
    --enrollment_types StudentEnrollment \
    --incremental \
    --out-dir "$home/reports" --state "$home/pageviews-state.sqlite" \
    --log-format json \
    $token_file
