#!/usr/bin/env bash
# A/A sessions of `kvmbench ab`: identical variants, so every "regressed" or "improved" is a
# false claim. Prints, per accelerator and --rounds, how many sessions claimed a change and how
# often ab exited 4 (docs/compare.md, "Interleaved A/B on one host").
#   bash bench/aa-sessions.sh [SESSIONS] [ACCELS] [ROUNDS]     e.g. bash bench/aa-sessions.sh 10 "tcg kvm" "3 1"
set -uo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-10}
accels=${2:-tcg}
rounds_list=${3:-"3 1"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$sessions"); do
  for accel in $accels; do
    for rounds in $rounds_list; do
      out="$work/$accel-r$rounds-$i"
      t0=$(date +%s%N)
      node bin/run.js ab exits --quick --accel "$accel" --only cpuid --only inl_from_qemu --rounds "$rounds" \
        --seed $((1000 + i)) --fail-on-regression -o "$out" --format json > "$out.json" 2> "$out.err"
      rc=$?
      ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      node -e '
        const [file, accel, rounds, rc, ms] = process.argv.slice(1);
        let rows = [];
        try { rows = JSON.parse(require("fs").readFileSync(file, "utf8")).pairs[0].metrics; } catch {}
        const claims = rows.filter((m) => m.verdict === "regressed" || m.verdict === "improved").length;
        console.log([accel, rounds, rc, ms, claims, rows.length].join(" "));
      ' "$out.json" "$accel" "$rounds" "$rc" "$ms" >> "$work/summary"
    done
  done
done
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
  const groups = new Map();
  for (const [accel, rounds, rc, ms, claims, rows] of lines) {
    const k = `${accel} rounds=${rounds}`;
    const g = groups.get(k) ?? { n: 0, claimed: 0, claims: 0, rows: 0, exit4: 0, other: 0, ms: 0 };
    g.n++; g.claimed += Number(claims) > 0; g.claims += Number(claims); g.rows += Number(rows);
    g.exit4 += rc === "4"; g.other += rc !== "0" && rc !== "4"; g.ms += Number(ms);
    groups.set(k, g);
  }
  for (const [k, g] of groups) {
    console.log(`${k}: ${g.claimed} of ${g.n} sessions claimed a change (${g.claims} of ${g.rows} rows), exit 4 in ${g.exit4}, other failures ${g.other}, ${(g.ms / g.n / 1000).toFixed(1)} s a session`);
  }
' "$work/summary"
