"""Generate a large, valid spec for the compiler benchmark.

    python bench/gen_spec.py OUT_DIR [--rules 5000] [--playbooks 500] [--plans 100]
                                     [--files 50] [--seed 7]

The default shape is the one the compiler issue sets: 5,000 rules, 500 playbooks and
100 success plans, about 40,000 lines over 50 files, using every condition form and
every clause, with task dependencies, business-day calendars, cross-objective `after`
and playbooks inside objectives. Deterministic for a seed; checks with no errors.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DATA = """\
account {
  name: text
  segment: enum("SMB", "Mid-Market", "Enterprise")
  region: enum("EMEA", "NA", "APAC")
  arr: number
  seats_purchased: number
  start_date: date
  renewal_date: date
  phase: enum("onboarding", "adoption", "renewal", "success")
  csm_sentiment: number
  is_strategic: bool
}

metric usage "Daily active users"
metric logins "Logins per day"
metric tickets "Support tickets opened"

event contract_signed "Contract signed"
event qbr_held "Quarterly business review held"
event nps_response "NPS survey answer" {
  score: number
  comment: text
}
event support_escalation "Support ticket escalated" {
  severity: enum("sev1", "sev2", "sev3")
}

role CSM "Customer Success Manager"
role AE "Account Executive"
role CS_Leader "Head of Customer Success"
role Support_Lead "Support lead"
role Champion external

pool Support "Support engineers"
"""

CTA_TYPES = ("risk", "lifecycle", "opportunity", "activity")
OWNERS = ("CSM", "AE or CSM", "CSM or CS_Leader", "pool Support", "Support_Lead",
          '"ops@example.com"', "Champion")
TASK_TYPES = ("todo", "email", "call", "meeting", "milestone")


def _condition(rng: random.Random) -> str:
    """One of the condition forms of LANGUAGE.md, joined with and/or/not."""
    m = rng.choice(("usage", "logins", "tickets"))
    d = rng.choice((7, 14, 30, 60, 90))
    p = rng.choice((10, 20, 25, 30, 40, 50))
    atoms = [
        f"{m} drops {p}% over {d}d",
        f"{m} rises {p}% over {d}d",
        f"change({m}, {d}d) <= -{p}%",
        f"avg({m}, {d}d) < {rng.randint(1, 80)}",
        f"sum({m}, {d}d) >= {rng.randint(10, 5000)}",
        f"max({m}, 7d) >= 90% * seats_purchased",
        f"min({m}, {d}d) > {rng.randint(0, 50)}",
        f"no {m} for {d}d",
        "no qbr_held for 365d",
        f"event nps_response within {d}d where score <= {rng.randint(0, 6)}",
        f'event support_escalation within {d}d where severity == "sev1"',
        f"count(support_escalation, {d}d) >= {rng.randint(2, 5)}",
        f"days_until(renewal_date) == {rng.choice((30, 60, 90, 120))}",
        f"days_since(start_date) > {rng.randint(30, 400)}",
        f"days_since(qbr_held) >= {rng.randint(60, 120)}",
        'segment in ("Mid-Market", "Enterprise")',
        'segment == "SMB"',
        'phase not in ("onboarding")',
        f"arr >= {rng.randint(1, 50) * 5000}",
        "is_strategic",
        f"csm_sentiment <= {rng.randint(2, 5)}",
        f'region != "{rng.choice(("EMEA", "NA", "APAC"))}"',
    ]
    picked = rng.sample(atoms, rng.randint(1, 3))
    if len(picked) == 3 and rng.random() < 0.3:
        return f"{picked[0]} and ({picked[1]} or not {picked[2]})"
    return " and ".join(picked)


def _task(rng: random.Random, name: str, earlier: list[str], indent: str) -> list[str]:
    lines = [f'{indent}task {name} "Step {name} for {{{{ account.name }}}}" {{']
    if rng.random() < 0.5:
        lines.append(f"{indent}  day {rng.randint(0, 20)}")
    if rng.random() < 0.2:
        lines.append(f"{indent}  duration {rng.randint(1, 5)}d")
    lines.append(f"{indent}  owner {rng.choice(OWNERS)}")
    if rng.random() < 0.3:
        lines.append(f"{indent}  type {rng.choice(TASK_TYPES)}")
    if earlier and rng.random() < 0.6:
        deps = rng.sample(earlier, min(len(earlier), rng.randint(1, 2)))
        lines.append(f"{indent}  after {', '.join(deps)}")
    lines.append(f"{indent}}}")
    return lines


def playbook(rng: random.Random, i: int, cta_type: str) -> list[str]:
    lines = [f'playbook P{i} "Playbook {i}" {{', f"  for {cta_type}"]
    if i % 3 == 0:
        lines.append("  calendar business")
    if i % 5 == 0:
        lines.append("  on change append")
    names: list[str] = []
    for t in range(rng.randint(2, 4)):
        name = f"t{t}"
        lines += _task(rng, name, names, "  ")
        names.append(name)
    return [*lines, "}", ""]


def plan(rng: random.Random, i: int, playbooks_for_objectives: list[int]) -> list[str]:
    lines = [f'plan L{i} "Success plan {i}" {{', "  type onboarding",
             f"  due {rng.choice((60, 90, 120, 180))}d", "  owner CSM or CS_Leader",
             f'  description "Plan {i} for {{{{ account.name }}}}"']
    previous: list[tuple[str, str]] = []  # (objective, its last task)
    for o in range(rng.randint(3, 4)):
        obj = f"o{o}"
        lines += ["", f'  objective {obj} "Objective {o}" {{',
                  f"    category {rng.choice(('adoption', 'technical', 'value'))}"]
        if previous and rng.random() < 0.5:
            lines.append(f"    after {previous[-1][0]}")
        if o == 1 and playbooks_for_objectives:
            lines.append(f"    playbook P{rng.choice(playbooks_for_objectives)}")
        names: list[str] = []
        for t in range(rng.randint(2, 4)):
            name = f"{obj}t{t}"
            task = _task(rng, name, names, "    ")
            if t == 0 and previous and "after" not in "".join(task) and rng.random() < 0.5:
                task.insert(-1, f"      after {previous[-1][0]}.{previous[-1][1]}")
            lines += task
            names.append(name)
        lines.append("  }")
        previous.append((obj, names[-1]))
    return [*lines, "}", ""]


def rule(rng: random.Random, i: int, playbook_types: dict[int, str], plans: int) -> list[str]:
    lines = [f'rule r{i} "Rule {i}" {{', f"  when {_condition(rng)}"]
    if plans and rng.random() < 0.05:
        lines.append(f"  then plan L{rng.randrange(plans)}")
        lines.append(f"  owner {rng.choice(('CSM', 'CSM or CS_Leader'))}")
        return [*lines, "}"]
    cta_type = rng.choice(CTA_TYPES)
    lines.append(f'  then cta {cta_type} "Rule {i} fired for {{{{ account.name }}}}"')
    if rng.random() < 0.5:  # else the default owner
        lines.append(f"  owner {rng.choice(OWNERS[:5])}")
    matching = [p for p, t in playbook_types.items() if t == cta_type]
    if matching and rng.random() < 0.4:
        lines.append(f"  playbook P{rng.choice(matching)}")
    extra = rng.random()
    if extra < 0.1:
        lines.append(f"  priority {rng.choice(('high', 'medium', 'low'))}")
        lines.append(f'  reason "Reason {i % 17}"')
    elif extra < 0.2:
        unit = " business" if i % 2 else ""
        lines.append(f"  due {rng.choice((7, 14, 30))}d{unit}")
        lines.append(f"  cooldown {rng.choice((30, 60, 90))}d")
    elif extra < 0.25:
        lines.append(f"  close when {_condition(rng)}")
        lines.append(f"  success within 60d when {_condition(rng)}")
    return [*lines, "}"]  # rules follow each other without a blank line: ~5 lines each


def generate(out: Path, rules: int = 5000, playbooks: int = 500, plans: int = 100,
             files: int = 50, seed: int = 7) -> tuple[int, int]:
    """Write the spec under `out`; return (files written, lines written)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.cs"):
        old.unlink()
    # one playbook in ten is for the objectives of success plans
    playbook_types = {i: "objective" if i % 10 == 9 else CTA_TYPES[i % len(CTA_TYPES)]
                      for i in range(playbooks)}
    blocks: list[list[str]] = []
    blocks += [playbook(rng, i, t) for i, t in playbook_types.items()]
    objective_playbooks = [i for i, t in playbook_types.items() if t == "objective"]
    blocks += [plan(rng, i, objective_playbooks) for i in range(plans)]
    blocks += [rule(rng, i, playbook_types, plans) for i in range(rules)]
    # every playbook and role used, so that the spec checks without warnings too
    blocks += [[f'rule use_p{i} "Uses P{i}" {{', "  when is_strategic",
                f'  then cta {t} "P{i}"', "  owner CS_Leader or Support_Lead",
                f"  playbook P{i}", "}", ""] for i, t in playbook_types.items()
               if i % 7 == 0 and t != "objective"]
    (out / "data.cs").write_text(DATA, encoding="utf-8")
    lines = DATA.count("\n")
    per_file = -(-len(blocks) // (files - 1))
    for f in range(files - 1):
        chunk = blocks[f * per_file:(f + 1) * per_file]
        text = "\n".join("\n".join(block) for block in chunk).rstrip("\n") + "\n"
        (out / f"part{f:02d}.cs").write_text(text, encoding="utf-8")
        lines += text.count("\n")
    return files, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--playbooks", type=int, default=500)
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files, lines = generate(args.out, args.rules, args.playbooks, args.plans, args.files,
                            args.seed)
    print(f"wrote {files} files, {lines:,} lines to {args.out}")


if __name__ == "__main__":
    main()
