# shellcheck shell=bash
# Shared helpers for the Sprig curl scripts. Sourced, not run:
#   . "$(dirname "$0")/lib.sh"
#
# Settings (environment):
#   SPRIG_URL      api-server base URL (default http://localhost:8080)
#   SPRIG_API_KEY  bearer key for /v1 (required)
#   SPRIG_NO_JQ=1  parse JSON with sed/grep even when jq is installed
#
# jq is used when it is installed; without it the scripts parse api-server's compact JSON with
# sed and grep, which is enough for every field they print.

SPRIG_URL="${SPRIG_URL:-http://localhost:8080}"
SPRIG_URL="${SPRIG_URL%/}"

die() {
    printf '%s\n' "$*" >&2
    exit 1
}

need_command() {
    command -v "$1" >/dev/null 2>&1 || die "error: '$1' is needed and is not installed (apt-get install -y $1)"
}

need_command curl

if [ -z "${SPRIG_NO_JQ:-}" ] && command -v jq >/dev/null 2>&1; then
    SPRIG_JQ=1
else
    SPRIG_JQ=
fi

require_key() {
    if [ -z "${SPRIG_API_KEY:-}" ]; then
        cat >&2 <<'EOF'
error: SPRIG_API_KEY is not set.
  Every /v1 call needs an API key (sent as "Authorization: Bearer <key>"). To find it:
  - if api-server was started without keys, it logged one generated key at start-up:
      No sprig.api.api-keys configured; this run accepts the generated client key: sprig_...
    e.g.  grep -o 'accepts the generated client key: .*' <api-server log>
  - or start api-server with your own key(s):  SPRIG_API_API_KEYS=my-key ./mvnw -pl api-server -am spring-boot:run
  Then:  export SPRIG_API_KEY=<key>
EOF
        exit 2
    fi
}

# json_escape STRING: STRING as a JSON string literal, quotes included.
json_escape() {
    local s="$1"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    s="${s//$'\n'/\\n}"
    s="${s//$'\r'/\\r}"
    s="${s//$'\t'/\\t}"
    printf '"%s"' "$s"
}

# json_field FILE FIELD: the first top-level-or-nested value of FIELD in the JSON in FILE, as text
# ("null" for null, strings unquoted and unescaped). Only for scalar fields.
json_field() {
    local file="$1" field="$2"
    if [ -n "$SPRIG_JQ" ]; then
        jq -r --arg f "$field" '[.. | objects | select(has($f)) | .[$f]] | if length == 0 then "null" else (.[0] | tostring) end' "$file"
    else
        local raw
        raw="$(grep -oE "\"$field\":(\"([^\"\\\\]|\\\\.)*\"|[^],}]*)" "$file" | head -n 1 || true)"
        raw="${raw#\""$field"\":}"
        [ -z "$raw" ] && raw=null
        json_unquote "$raw"
    fi
}

# json_unquote VALUE: a JSON scalar as plain text (simple escapes only, enough for names and ids).
json_unquote() {
    local v="$1"
    case "$v" in
        \"*\")
            v="${v#\"}"
            v="${v%\"}"
            v="${v//\\\"/\"}"
            v="${v//\\\//\/}"
            v="${v//\\\\/\\}"
            ;;
    esac
    printf '%s\n' "$v"
}

# api METHOD PATH [curl args...]: one call to api-server. Sets
#   HTTP_STATUS  the status code
#   HTTP_TIME    seconds the call took (curl's time_total)
#   BODY         a file holding the response body
# and returns 0 whatever the status; fails only when api-server cannot be reached.
BODY="$(mktemp "${TMPDIR:-/tmp}/sprig-body.XXXXXX")"
trap 'rm -f "$BODY"' EXIT
HTTP_STATUS=
HTTP_TIME=

api() {
    local method="$1" path="$2"
    shift 2
    local out rc=0
    out="$(curl -sS -X "$method" -o "$BODY" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $SPRIG_API_KEY" -H 'Accept: application/json, application/problem+json' \
        "$@" "$SPRIG_URL$path")" || rc=$?
    if [ "$rc" -ne 0 ]; then
        die "error: cannot reach api-server at $SPRIG_URL (curl exit $rc). Is it running? Set SPRIG_URL if it listens elsewhere."
    fi
    HTTP_STATUS="${out%% *}"
    HTTP_TIME="${out#* }"
}

# api_json METHOD PATH JSON: a call with a JSON body.
api_json() {
    api "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}

# is_success: whether the last call answered 2xx.
is_success() {
    case "$HTTP_STATUS" in 2??) return 0 ;; *) return 1 ;; esac
}

# print_problem: the last call's failure in plain words (status, code, detail) on stderr.
print_problem() {
    local code detail
    code="$(json_field "$BODY" code 2>/dev/null || echo null)"
    detail="$(json_field "$BODY" detail 2>/dev/null || echo null)"
    if [ "$code" = null ] && [ "$detail" = null ]; then
        printf 'failed: HTTP %s from %s\n' "$HTTP_STATUS" "$SPRIG_URL" >&2
        [ -s "$BODY" ] && head -c 500 "$BODY" >&2 && printf '\n' >&2
    else
        printf 'failed: HTTP %s %s: %s\n' "$HTTP_STATUS" "$code" "$detail" >&2
    fi
    if [ "$HTTP_STATUS" = 401 ]; then
        printf 'hint: api-server did not accept SPRIG_API_KEY; check the key it logged or was started with.\n' >&2
    fi
}

# expect_success: stop with the problem printed unless the last call answered 2xx.
expect_success() {
    if ! is_success; then
        print_problem
        exit 1
    fi
}

# ms SECONDS: seconds (decimal) as whole milliseconds.
ms() {
    awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'
}

# secs SECONDS: seconds rounded to hundredths.
secs() {
    awk -v s="$1" 'BEGIN { printf "%.2f", s }'
}

# stamp: a short, unique-enough suffix for default names.
stamp() {
    printf '%s-%04x' "$(date +%Y%m%d-%H%M%S)" "$((RANDOM))"
}

# await_operation OP_ID: polls GET /v1/operations/OP_ID (whose first answer is in BODY) every half
# second, printing its progress as it changes, until it has finished. Sets OP_STATE, OP_PROGRESS and
# OP_TOOK (seconds); BODY holds the finished operation.
await_operation() {
    local op="$1" started last=
    started="$(date +%s.%N)"
    while :; do
        OP_STATE="$(json_field "$BODY" state)"
        OP_PROGRESS="$(json_field "$BODY" done) of $(json_field "$BODY" total) $(json_field "$BODY" unit)"
        [ "$OP_STATE" != running ] && break
        if [ "$OP_PROGRESS" != "$last" ]; then
            echo "  $OP_PROGRESS"
            last="$OP_PROGRESS"
        fi
        sleep 0.5
        api GET "/v1/operations/$op"
        expect_success
    done
    OP_TOOK="$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
}
