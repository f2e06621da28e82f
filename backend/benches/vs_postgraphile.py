#!/usr/bin/env python3
"""Helper of vs-postgraphile.sh (run that, not this): walks both GraphQL APIs
for their opaque cursors and ids, writes the wrk scripts and sample
requests, checks sample answers, snapshots CPU time from /proc, records each
run and prints the final table. Standard library only.

  walk WORK OURS_URL PG_URL USERS_FILE
  check REQUESTS_JSON URL [N]
  snapshot OUT DB PID...
  sample OUT DB          (until SIGTERM: the Postgres backends' last CPU ticks)
  record RESULTS QUERY SIDE ROUND WRK_OUT BEFORE SAMPLED AFTER HWM_KB STATEMENTS_PER_REQ
  report RESULTS
"""

import json
import os
import random
import re
import signal
import statistics
import sys
import time
import urllib.request

# The three queries, written for each server. Q1: a catalog page of 20 books
# by title with contributors, genres and totalCount; Q2: one book with its
# credits and genres; Q3: a customer's 10 latest orders with lines and titles.
OURS = {
    "q1": """query Q1($after: String) { books(first: 20, after: $after, sort: TITLE) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id slug title isbn format stock price { amountCents currency }
    credits { role contributor { id name slug } } genres { id name slug } } } } }""",
    "q2": """query Q2($id: ID!) { book(id: $id) { id slug title subtitle description isbn format
  publisher publicationDate pageCount language stock price { amountCents currency }
  credits { role contributor { id name slug } } genres { id name slug } } }""",
    "q3": """query Q3 { viewer { orders(first: 10) { nodes { number status createdAt
  total { amountCents currency }
  lines { title quantity unitPrice { amountCents currency } book { id title } } } } } }""",
}
PG = {
    "q1": """query Q1($after: Cursor) { allBooks(first: 20, after: $after, orderBy: [TITLE_ASC, ID_ASC],
  condition: {archived: false}) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id slug title isbn format stock priceCents currency
    bookContributorsByBookId(orderBy: POSITION_ASC) { nodes { role contributorByContributorId { id name slug } } }
    bookGenresByBookId { nodes { genreByGenreId { id name slug } } } } } } }""",
    "q2": """query Q2($id: BigInt!) { bookById(id: $id) { id slug title subtitle description isbn format
  publisher publicationDate pageCount language stock priceCents currency
  bookContributorsByBookId(orderBy: POSITION_ASC) { nodes { role contributorByContributorId { id name slug } } }
  bookGenresByBookId { nodes { genreByGenreId { id name slug } } } } }""",
    "q3": """query Q3($id: BigInt!) { userById(id: $id) {
  ordersByUserId(first: 10, orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { number status createdAt
    totalCents currency
    orderLinesByOrderId(orderBy: POSITION_ASC) { nodes { title quantity unitPriceCents
      bookByBookId { id title } } } } } } }""",
}
OURS_WALK = """query Walk($after: String) { books(first: 100, after: $after, sort: TITLE) {
  pageInfo { hasNextPage endCursor } edges { cursor node { id slug } } } }"""
PG_WALK = """query Walk($after: Cursor) { allBooks(first: 100, after: $after, orderBy: [TITLE_ASC, ID_ASC],
  condition: {archived: false}) { pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }"""
OURS_HEADERS = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
PG_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
PAGE = 20


def post(url, body, headers):
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def graphql(url, query, variables, headers):
    status, text = post(url, {"query": query, "variables": variables}, headers)
    reply = json.loads(text)
    if status != 200 or reply.get("errors") or not reply.get("data"):
        sys.exit(f"{url} answered {status}: {text[:500]}")
    return reply["data"]


def walk(url, query, field, headers):
    """Every edge of the title-sorted catalog, through the API's own cursors."""
    edges, after = [], None
    while True:
        connection = graphql(url, query, {"after": after}, headers)[field]
        edges.extend(connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            return edges
        after = connection["pageInfo"]["endCursor"]


def lua_string(text):
    return json.dumps(text)  # a JSON string is a valid Lua string literal here (ASCII, escaped)


def write_wrk_script(path, requests):
    """A wrk script sending one of `requests` (body + headers) at random, and
    counting answers that are not 200 or carry GraphQL errors when
    CHECK_BODIES=1 (reported by `done` as GRAPHQL_ERRORS)."""
    with open(path, "w") as out:
        out.write("local requests = {\n")
        for request in requests:
            headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in request["headers"].items())
            out.write(f"  {{ body = {lua_string(request['body'])}, headers = {{ {headers} }} }},\n")
        out.write("}\n")
        out.write(
            """wrk.method = "POST"
local threads, count = {}, 0
function setup(thread)
  count = count + 1
  thread:set("seed", 2026 + count)
  table.insert(threads, thread)
end
bad = 0
if os.getenv("CHECK_BODIES") == "1" then
  function response(status, headers, body)
    if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
  end
end
function init(args) math.randomseed(seed) end
function request()
  local r = requests[math.random(#requests)]
  return wrk.format(nil, nil, r.headers, r.body)
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("bad") or 0) end
  io.write(string.format("GRAPHQL_ERRORS %d\\n", total))
end
"""
        )
    with open(path.replace(".lua", ".json"), "w") as out:
        json.dump(requests, out)


def command_walk(work, ours_url, pg_url, users_file):
    ours_edges = walk(ours_url, OURS_WALK, "books", OURS_HEADERS)
    pg_edges = walk(pg_url, PG_WALK, "allBooks", PG_HEADERS)
    print(f"walked {len(ours_edges)} books through ours, {len(pg_edges)} through PostGraphile", file=sys.stderr)
    if len(ours_edges) != len(pg_edges):
        sys.exit("the two APIs list different numbers of books")
    users = [line.split() for line in open(users_file) if line.strip()]  # user id, bearer token

    def body(query, variables):
        return json.dumps({"query": query, "variables": variables})

    # Q1: every page boundary (the first page, then after every 20th book).
    def pages(edges):
        return [None] + [edges[i]["cursor"] for i in range(PAGE - 1, len(edges) - 1, PAGE)]

    sets = {
        ("q1", "ours"): [{"body": body(OURS["q1"], {"after": c}), "headers": OURS_HEADERS} for c in pages(ours_edges)],
        ("q1", "pg"): [{"body": body(PG["q1"], {"after": c}), "headers": PG_HEADERS} for c in pages(pg_edges)],
        ("q2", "ours"): [{"body": body(OURS["q2"], {"id": e["node"]["id"]}), "headers": OURS_HEADERS} for e in ours_edges],
        ("q2", "pg"): [{"body": body(PG["q2"], {"id": str(e["node"]["id"])}), "headers": PG_HEADERS} for e in pg_edges],
        ("q3", "ours"): [
            {"body": body(OURS["q3"], {}), "headers": dict(OURS_HEADERS, Authorization=f"Bearer {token}")}
            for _, token in users
        ],
        ("q3", "pg"): [{"body": body(PG["q3"], {"id": user_id}), "headers": PG_HEADERS} for user_id, _ in users],
    }
    for (query, side), requests in sets.items():
        write_wrk_script(os.path.join(work, f"{query}-{side}.lua"), requests)
    # The storefront's book pages, at random across the catalog.
    with open(os.path.join(work, "web-book.lua"), "w") as out:
        out.write("local paths = {\n")
        for edge in ours_edges:
            out.write(f"  {lua_string('/books/' + edge['node']['slug'])},\n")
        out.write(
            """}
local count = 0
function setup(thread) count = count + 1; thread:set("seed", 2026 + count) end
function init(args) math.randomseed(seed) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
"""
        )
    print(
        f"Q1: {len(sets[('q1', 'ours')])} pages each; Q2: {len(ours_edges)} books each; Q3: {len(users)} customers each",
        file=sys.stderr,
    )


def empty_fields(value, path="data"):
    """Paths of the top-level fields that came back null (a missing book,
    a viewer whose token did not work)."""
    return [f"{path}.{key}" for key, item in value.items() if item is None]


def command_check(requests_file, url, count="5"):
    requests = json.load(open(requests_file))
    rng = random.Random()
    for request in rng.sample(requests, min(int(count), len(requests))):
        status, text = post(url, json.loads(request["body"]), request["headers"])
        try:
            reply = json.loads(text)
        except ValueError:
            reply = {}
        data = reply.get("data") or {}
        if status != 200 or "errors" in reply or not data or empty_fields(data):
            sys.exit(f"!!! {os.path.basename(requests_file)} against {url}: HTTP {status}: {text[:400]}")


def ticks(pid):
    """utime + stime + cutime + cstime of a process, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(field) for field in fields[11:15])


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def backends(database):
    """CPU ticks of the Postgres backends connected to `database`, found by
    their process title ("postgres: [cluster: ]user database host(port) state")."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and database in title.replace("\0", " ").split():
            value = ticks(entry)
            if value is not None:
                found[entry] = value
    return found


def command_snapshot(out, database, *pids):
    processes = {}
    for pid in pids:
        for member in descendants(int(pid)):
            processes[str(member)] = ticks(member)
    json.dump(
        {"processes": {k: v for k, v in processes.items() if v is not None}, "postgres": backends(database)},
        open(out, "w"),
    )


def command_sample(out, database):
    """Reads the backends' ticks twice a second until SIGTERM, keeping the
    last reading of each: a backend that ends during a run (a pool closing
    a connection) is then counted up to its last half second."""
    last = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping:
        last.update(backends(database))
        time.sleep(0.5)
    last.update(backends(database))
    json.dump({"postgres": last}, open(out, "w"))


def cpu_delta(before, sampled, after):
    """Ticks spent between two snapshots (a backend gone by the second one
    counts up to its last sample), and the backends never seen again."""
    spent, vanished = 0, 0
    postgres = dict(sampled["postgres"], **after["postgres"])
    for group, values in (("processes", after["processes"]), ("postgres", postgres)):
        for pid, value in values.items():
            spent += value - before[group].get(pid, 0)
        vanished += sum(1 for pid in before[group] if pid not in values)
    return spent, vanished


def milliseconds(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text or "")
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[match.group(2)]


def parse_wrk(text):
    def find(pattern, default="0"):
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1) if match else default

    errors = int(find(r"Non-2xx or 3xx responses: (\d+)"))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    errors += int(find(r"^GRAPHQL_ERRORS (\d+)"))
    return {
        "timeouts": int(socket.group(4)) if socket else 0,
        "rps": float(find(r"Requests/sec:\s+([\d.]+)")),
        "requests": int(find(r"(\d+) requests in")),
        "p50": milliseconds(find(r"^\s+50%\s+(\S+)", "")),
        "p99": milliseconds(find(r"^\s+99%\s+(\S+)", "")),
        "errors": errors,
    }


def command_record(results, query, side, round_, wrk_out, before, sampled, after, hwm_kb, statements):
    run = parse_wrk(open(wrk_out).read())
    spent, vanished = cpu_delta(json.load(open(before)), json.load(open(sampled)), json.load(open(after)))
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    cpu = spent * tick_ms / run["requests"] if run["requests"] else float("nan")
    row = [query, side, round_, f"{run['rps']:.1f}", f"{run['p50']:.2f}", f"{run['p99']:.2f}",
           str(run["requests"]), str(run["errors"]), f"{cpu:.3f}", hwm_kb, statements, str(vanished)]
    with open(results, "a") as out:
        out.write("\t".join(row) + "\n")
    timeouts = f" ({run['timeouts']} of them wrk's timeouts (TIMEOUT))" if run["timeouts"] else ""
    flag = f"   !!! {run['errors']} ERRORS / non-2xx / socket errors{timeouts} !!!" if run["errors"] else ""
    gone = f" ({vanished} Postgres backends ended during the run: CPU under-counted)" if vanished else ""
    print(f"  {query} {side:<10} round {round_}: {run['rps']:>8.0f} req/s  p50 {run['p50']:.2f} ms  "
          f"p99 {run['p99']:.2f} ms  {cpu:.3f} CPU ms/req{flag}{gone}", file=sys.stderr)


SIDES = [("warm", "ours, Redis warm"), ("nocache", "ours, no cache"), ("pg", "PostGraphile 4.14")]
NAMES = {"q1": "Q1 catalog page", "q2": "Q2 one book", "q3": "Q3 latest orders",
         "web-catalog": "storefront /books", "web-book": "storefront /books/{slug}"}


def command_report(results):
    rows = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
    by = {}
    for query, side, _round, rps, p50, p99, requests, errors, cpu, hwm, statements, _gone in rows:
        by.setdefault((query, side), []).append(
            {"rps": float(rps), "p50": float(p50), "p99": float(p99), "errors": int(errors), "cpu": float(cpu),
             "hwm": int(hwm or 0), "statements": float(statements) if statements not in ("", "-") else None})

    def median(key, runs):
        values = [run[key] for run in runs if run[key] is not None]
        return statistics.median(values) if values else None

    print("\nMedians of the rounds (CPU ms/req = server [+ Redis when warm] + the Postgres backends of the"
          " database, from /proc; RSS = peak VmHWM of the server):\n")
    print("| query | side | runs | req/s | p50 ms | p99 ms | CPU ms/req | SQL/req | RSS MiB | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for query in ("q1", "q2", "q3", "web-catalog", "web-book"):
        for side, label in SIDES + [("web", "storefront + ours warm")]:
            runs = by.get((query, side))
            if not runs:
                continue
            statements = median("statements", runs)
            print(f"| {NAMES[query]} | {label} | {len(runs)} | {median('rps', runs):,.0f} | {median('p50', runs):.2f} "
                  f"| {median('p99', runs):.2f} | {median('cpu', runs):.3f} | "
                  f"{'-' if statements is None else f'{statements:.2f}'} | {max(r['hwm'] for r in runs) / 1024:.0f} "
                  f"| {sum(r['errors'] for r in runs)}{' !!!' if any(r['errors'] for r in runs) else ''} |")
    print("\nRatios (above 1: ours better): req/s ours/PostGraphile, CPU per request PostGraphile/ours,"
          " p99 PostGraphile/ours:\n")
    print("| query | ours | req/s × | CPU × | p99 × |")
    print("|---|---|---|---|---|")
    for query in ("q1", "q2", "q3"):
        pg = by.get((query, "pg"))
        for side, label in SIDES[:2]:
            ours = by.get((query, side))
            if not pg or not ours:
                continue
            print(f"| {NAMES[query]} | {label} | {median('rps', ours) / median('rps', pg):.2f} "
                  f"| {median('cpu', pg) / median('cpu', ours):.2f} | {median('p99', pg) / median('p99', ours):.2f} |")
    if any(int(row[7]) for row in rows):
        print("\n!!! SOME RUNS HAD ERRORS, NON-2xx ANSWERS OR TIMEOUTS (wrk gives up after TIMEOUT s):"
              " their figures are not comparable !!!")


COMMANDS = {"walk": command_walk, "check": command_check, "snapshot": command_snapshot, "sample": command_sample,
            "record": command_record, "report": command_report}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
