#!/usr/bin/env python3
"""A deterministic sample data set for the example spec (examples/spec).

    python examples/generate_data.py --out DIR [--accounts 300] [--days 120]
                                     [--as-of 2026-11-20] [--seed 7]

Writes the data directory that `csdsl run --data DIR` reads (see RUNTIME.md):
accounts.csv, team.csv, metrics.csv (usage and logins, one row per account and day for
the --days days that end on --as-of), events.csv (up to a year of history) and
pools.csv. Standard library only; the same arguments give byte-identical files.

Most accounts are healthy and fire nothing. The others belong to a *cohort* built so
that one rule of the example spec is true for them on the --as-of day (see COHORTS and
`_apply_cohort`; examples/README.md has the table). Every block of 100 accounts holds
every cohort, so any --accounts >= 100 makes every enabled rule fire for some accounts
and not for others. The cohorts assume --days >= 60 (30-day `change` windows).
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

# The account fields of examples/spec/data.cs, in declaration order.
ACCOUNT_FIELDS = ["name", "segment", "region", "arr", "seats_purchased", "start_date",
                  "renewal_date", "phase", "csm_sentiment", "is_strategic"]
# Every field of every event, in declaration order (one events.csv column each).
EVENT_FIELDS = ["score", "comment", "severity", "admin_email"]
HISTORY = 365  # days of event history

# Accounts per block of 100, by cohort. "healthy" and "onboarding_ok" fire nothing;
# every other cohort is named after the rule it is built to fire.
COHORTS = {
    "healthy": 47,
    "onboarding_ok": 3,
    # rules_risk.cs
    "usage_drop": 4,
    "usage_drop_smb": 3,
    "low_nps": 3,
    "no_logins": 2,
    "support_escalations": 3,
    "negative_sentiment": 2,
    "onboarding_escalation": 2,
    "renewal_at_risk": 3,
    "seat_underuse": 3,
    # rules_lifecycle.cs
    "renewal_120": 2,
    "new_customer": 2,
    "new_customer_smb": 2,
    "onboarding_stalled": 2,
    "qbr_due": 3,
    "new_admin": 2,
    "renewal_overdue": 2,
    # rules_opportunity.cs
    "usage_growth": 3,
    "seats_near_limit": 2,
    "promoter": 3,
    "outgrowing_plan": 2,
}
assert sum(COHORTS.values()) == 100

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
REGIONS = ["EMEA", "NA", "APAC"]
NAME_A = ["Acme", "Northwind", "Bluebird", "Copperleaf", "Driftwood", "Evergreen", "Fjord",
          "Granite", "Harbor", "Ironclad", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus",
          "Orchard", "Pinnacle", "Quarry", "Redwood", "Summit", "Tidal", "Umber", "Vertex",
          "Willow", "Yarrow", "Zephyr"]
NAME_B = ["Logistics", "Health", "Labs", "Foods", "Energy", "Analytics", "Retail", "Capital",
          "Robotics", "Media", "Travel", "Insurance", "Systems", "Pharma", "Freight", "Studios"]
FIRST = ["ana", "ben", "chen", "dara", "emil", "fatima", "goran", "hana", "ivan", "jun",
         "kofi", "lena", "marta", "nils", "olga", "priya", "rui", "sara", "tomas", "yuki"]
LAST = ["alvarez", "berg", "costa", "dube", "ek", "fischer", "garcia", "haddad", "ito",
        "jensen", "kim", "lopez", "moreau", "novak", "okafor", "patel", "quinn", "rossi"]
NPS_COMMENTS = ["", "", "Great support team", "Reporting is slow", "Too expensive",
                "Love the dashboards", "Missing integrations", "Hard to onboard new users",
                "Does what we need"]
PROMOTER_COMMENTS = ["Love the dashboards", "Great support team", "Does what we need"]
DETRACTOR_COMMENTS = ["Reporting is slow", "Too expensive", "Missing integrations",
                      "Hard to onboard new users", ""]

SUPPORT_POOL = [f"support{i}@example.com" for i in range(1, 5)]
ONBOARDERS_POOL = [f"onboarding{i}@example.com" for i in range(1, 4)]
CS_LEADERS = {"EMEA": "lead.emea@example.com", "NA": "lead.na@example.com",
              "APAC": "lead.apac@example.com"}

NOISE_LEN = 8192


def _cohort_sequence(n: int, rng: random.Random) -> list[str]:
    """Each block of 100 accounts holds every cohort, in a shuffled order."""
    block = [name for name, count in COHORTS.items() for _ in range(count)]
    out: list[str] = []
    while len(out) < n:
        shuffled = block[:]
        rng.shuffle(shuffled)
        out.extend(shuffled)
    return out[:n]


class Shapes:
    """Per-day multipliers of an account's usage level, weekends included, one list per
    shape; index i is the day `days - 1 - i` days before the as-of day."""

    def __init__(self, asof: date, days: int) -> None:
        self.days = days
        self.ago = [days - 1 - i for i in range(days)]
        self.week = [0.8 if (asof - timedelta(days=a)).weekday() >= 5 else 1.0
                     for a in self.ago]
        self._cache: dict[tuple[object, ...], list[float]] = {}

    def get(self, key: tuple[object, ...]) -> list[float]:
        shape = self._cache.get(key)
        if shape is None:
            shape = [w * self._factor(key, a) for w, a in zip(self.week, self.ago, strict=True)]
            self._cache[key] = shape
        return shape

    @staticmethod
    def _factor(key: tuple[object, ...], a: int) -> float:
        kind = key[0]
        if kind == "drift":  # a gentle trend: about `s` change per 30 days, flat beyond 120
            s = float(key[1])  # type: ignore[arg-type]
            return 1.0 + s * (60 - min(a, 120)) / 30
        if kind == "drop":  # level 1 until 30 days ago, down to `f` over 10 days, then `f`
            f = float(key[1])  # type: ignore[arg-type]
            if a >= 30:
                return 1.0
            if a >= 20:
                return 1.0 - (1.0 - f) * (30 - a) / 10
            return f
        if kind == "rise":  # level 1 until 30 days ago, then from 1.15 up to 1.65
            return 1.0 if a >= 30 else 1.15 + 0.5 * (29 - a) / 29
        if kind == "dark":  # nothing at all in the last `k` days
            return 0.0 if a < int(key[1]) else 1.0  # type: ignore[arg-type]
        return 1.0  # "flat"


def _base_account(i: int, rng: random.Random) -> dict:
    """A healthy account: every draw happens for every account, whatever its cohort, so
    the cohorts only override values (and the output stays stable)."""
    seg = rng.choices(SEGMENTS, weights=(45, 35, 20))[0]
    if seg == "SMB":
        seats, arr = rng.randint(10, 40), rng.randrange(5_000, 25_000, 100)
    elif seg == "Mid-Market":
        seats, arr = rng.randint(50, 300), rng.randrange(40_000, 150_000, 500)
    else:
        seats, arr = rng.randint(300, 2000), rng.randrange(150_000, 1_200_000, 1000)
    renewal_in = rng.randint(65, 340)
    if renewal_in == 120:  # exactly 120 days out is the renewal_120 cohort's
        renewal_in = 121
    strategic_draw = rng.random()
    acc = {
        "id": f"A{i:06d}",
        "name": f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}",
        "segment": seg,
        "region": rng.choice(REGIONS),
        "arr": arr,
        "seats": seats,
        "renewal_in": renewal_in,
        "start_ago": 365 - renewal_in,
        "phase": "renewal" if renewal_in <= 90 else rng.choice(["adoption", "success", "success"]),
        "sentiment": rng.randint(6, 9),
        "strategic": (seg == "Enterprise" and strategic_draw < 0.4)
        or (seg == "Mid-Market" and strategic_draw < 0.05),
        "util": rng.uniform(0.4, 0.65),  # share of the seats active on a weekday
        "lpu": rng.uniform(1.2, 2.5),  # logins per active user and day
        "shape": ("drift", rng.choice([-0.06, -0.04, -0.02, 0.0, 0.0, 0.02, 0.04, 0.06])),
        "first_contract": False,  # metrics and events start on start_date
        "no_metrics": False,
        # event plans, as days before the as-of day
        "qbr_last": rng.randint(5, 80),
        "nps": [],  # (days ago, score)
        "esc": [],  # (days ago, severity)
        "admin": [],  # days ago
        "missing": set(),  # account fields left empty
    }
    # history a healthy account may have: old answers of any score, recent passives
    if rng.random() < 0.5:
        acc["nps"].append((rng.randint(35, 360), rng.randint(0, 10)))
    if rng.random() < 0.3:
        acc["nps"].append((rng.randint(0, 29), rng.randint(7, 8)))
    if rng.random() < 0.4:
        acc["esc"].append((rng.randint(65, 360), rng.choice(["sev1", "sev2", "sev3"])))
    if rng.random() < 0.2:
        acc["esc"].append((rng.randint(8, 59), rng.choice(["sev2", "sev3"])))
    if rng.random() < 0.2:
        acc["admin"].append(rng.randint(5, 360))
    # a few gaps in the data: these accounts fire nothing, whatever their values
    gap = rng.random()
    if gap < 0.02:
        acc["missing"].add("csm_sentiment")
    elif gap < 0.03:
        acc["missing"].add("region")
    elif gap < 0.04:
        acc["missing"].add("is_strategic")
    elif gap < 0.05:
        acc["no_metrics"] = True  # integration not connected yet: every window unknown
    return acc


def _onboarding(acc: dict, start_ago: int) -> None:
    """A customer in its first contract, which started `start_ago` days ago."""
    acc.update(first_contract=True, phase="onboarding", start_ago=start_ago,
               renewal_in=365 - start_ago, shape=("flat",), qbr_last=None)
    acc["nps"].clear()
    acc["esc"].clear()
    acc["admin"].clear()


def _apply_cohort(acc: dict, cohort: str, rng: random.Random) -> None:
    """Override a healthy account so that the cohort's rule is true on the as-of day."""
    r = rng.random()  # one draw per account, for the variants
    if cohort == "healthy":
        return
    if cohort == "onboarding_ok":
        # a young customer doing fine: fires nothing (not stalled, CSM happy)
        _onboarding(acc, 5 + int(r * 50))
    elif cohort == "usage_drop":
        # usage_drop: Mid-Market/Enterprise, usage down to half of its level in the last
        # 30 days (change about -42%)
        if acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=60 + int(r * 200), arr=60_000 + int(r * 80_000))
        acc["shape"] = ("drop", 0.5)
    elif cohort == "usage_drop_smb":
        # usage_drop_smb: an SMB account whose usage fell to 40% (change about -50%), from a
        # level high enough that seat_underuse stays false
        acc.update(segment="SMB", seats=12 + int(r * 28), arr=6_000 + int(r * 18_000),
                   strategic=False, shape=("drop", 0.4), util=0.55 + r * 0.1)
    elif cohort == "low_nps":
        # low_nps: a detractor answer (0-6) in the last 30 days
        acc["nps"] = [(n, s) for n, s in acc["nps"] if n >= 35]
        acc["nps"].append((1 + int(r * 25), int(r * 7)))
    elif cohort == "no_logins":
        # no_logins: past onboarding, the account went dark 15-25 days ago (zeros reported)
        acc["shape"] = ("dark", 15 + int(r * 11))
        if acc["phase"] == "onboarding":
            acc["phase"] = "adoption"
    elif cohort == "support_escalations":
        # support_escalations: three or four escalations in 30 days, or a sev1 this week
        if r < 0.6:
            acc["esc"] += [(rng.randint(0, 27), rng.choice(["sev2", "sev3"]))
                           for _ in range(3 + int(r * 2))]
        else:
            acc["esc"].append((rng.randint(0, 5), "sev1"))
    elif cohort == "negative_sentiment":
        # negative_sentiment: sentiment 2-3 on a large account; one in three has no ARR on
        # file but is strategic (unknown or true = true)
        if acc["segment"] == "SMB":
            acc.update(segment="Enterprise", seats=400, arr=250_000)
        acc["arr"] = max(acc["arr"], 60_000)
        acc["sentiment"] = 2 + int(r * 2)
        if r < 0.33:
            acc["missing"].add("arr")
            acc["strategic"] = True
        acc["missing"].discard("is_strategic")
    elif cohort == "onboarding_escalation":
        # onboarding_escalation: onboarding for 15-55 days with a worried CSM (2-4); small
        # accounts, so negative_sentiment stays out of it
        _onboarding(acc, 15 + int(r * 40))
        acc.update(segment="SMB", seats=15 + int(r * 20), arr=8_000 + int(r * 15_000),
                   strategic=False, sentiment=2 + int(r * 3))
    elif cohort == "renewal_at_risk":
        # renewal_at_risk: renewal in 15-60 days and one weak signal: sentiment 4,
        # two escalations 31-58 days ago, or usage down about 23% (not the 30% of usage_drop)
        renewal_in = 15 + int(r * 46)
        acc.update(renewal_in=renewal_in, start_ago=365 - renewal_in, phase="renewal")
        variant = int(r * 300) % 3
        if variant == 0:
            acc["sentiment"] = 4
        elif variant == 1:
            acc["esc"] = [(n, s) for n, s in acc["esc"] if n >= 65]
            acc["esc"] += [(31 + int(r * 10), "sev2"), (45 + int(r * 13), "sev3")]
        else:
            acc["shape"] = ("drop", 0.72)
        acc["missing"].discard("csm_sentiment")
    elif cohort == "seat_underuse":
        # seat_underuse: a year-old contract (started 115+ days ago) using 6-15% of its
        # seats, not strategic
        renewal_in = 65 + int(r * 185)
        if acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=80 + int(r * 200), arr=45_000 + int(r * 60_000))
        acc.update(renewal_in=renewal_in if renewal_in != 120 else 121, strategic=False,
                   util=0.06 + r * 0.09)
        acc["start_ago"] = 365 - acc["renewal_in"]
        acc["phase"] = "renewal" if acc["renewal_in"] <= 90 else "adoption"
        acc["missing"].discard("is_strategic")
    elif cohort == "renewal_120":
        # renewal_120: the renewal date is exactly 120 days after the as-of day
        acc.update(renewal_in=120, start_ago=245, phase="success")
    elif cohort in ("new_customer", "new_customer_smb"):
        # new_customer / new_customer_smb: the contract was signed on the as-of day; one
        # day of usage, no sentiment yet
        _onboarding(acc, 0)
        if cohort == "new_customer" and acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=80 + int(r * 150), arr=50_000 + int(r * 70_000))
        if cohort == "new_customer_smb":
            acc.update(segment="SMB", seats=10 + int(r * 20), arr=5_000 + int(r * 10_000),
                       strategic=False)
        acc["util"] = 0.05
        acc["missing"].add("csm_sentiment")
    elif cohort == "onboarding_stalled":
        # onboarding_stalled: onboarding for 62-85 days with 10-25% of the seats active
        _onboarding(acc, 62 + int(r * 24))
        acc.update(util=0.10 + r * 0.15, sentiment=5 + int(r * 3))
        if acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=80, arr=50_000)
    elif cohort == "qbr_due":
        # qbr_due: a larger account whose last QBR was 88-130 days ago, or (one in three)
        # that never had one although its contract started 100+ days ago
        if acc["segment"] == "SMB":
            acc.update(segment="Enterprise", seats=500, arr=300_000)
        if acc["phase"] == "onboarding":
            acc["phase"] = "adoption"
        if r < 0.33:
            acc["qbr_last"] = None
            acc.update(renewal_in=150 + int(r * 300), phase="adoption")
            acc["start_ago"] = 365 - acc["renewal_in"]
        else:
            acc["qbr_last"] = 88 + int(r * 43)
    elif cohort == "new_admin":
        # new_admin: a new admin was added in the last 3 days
        acc["admin"].append(int(r * 3))
    elif cohort == "renewal_overdue":
        # renewal_overdue: the renewal date passed 1-28 days ago, still in the renewal phase
        renewal_in = -1 - int(r * 28)
        acc.update(renewal_in=renewal_in, start_ago=365 - renewal_in, phase="renewal")
    elif cohort == "usage_growth":
        # usage_growth: a Mid-Market/Enterprise account whose usage rose about 40% in the
        # last 30 days, from a third of its seats (so seats_near_limit stays false)
        if acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=100 + int(r * 150), arr=60_000 + int(r * 60_000))
        acc.update(util=0.30 + r * 0.15, shape=("rise",))
    elif cohort == "seats_near_limit":
        # seats_near_limit: 96-99% of the seats active every weekday
        acc.update(util=0.96 + r * 0.03, shape=("flat",))
        if acc["phase"] == "onboarding":
            acc["phase"] = "adoption"
        acc["missing"].discard("csm_sentiment")
    elif cohort == "promoter":
        # promoter: a 9 or 10 in the last 30 days from an established larger account
        if acc["segment"] == "SMB":
            acc.update(segment="Mid-Market", seats=120, arr=70_000)
        acc["phase"] = rng.choice(["adoption", "success"])
        acc["nps"] = [(n, s) for n, s in acc["nps"] if n >= 35]
        acc["nps"].append((int(r * 28), 9 + int(r * 2)))
    elif cohort == "outgrowing_plan":
        # outgrowing_plan: a Mid-Market account under $40k with 85-100 users active every
        # day (at least 60 even on weekends) out of 1.3 times as many seats
        level = 85 + int(r * 16)
        acc.update(segment="Mid-Market", arr=25_000 + int(r * 14_000), seats=int(level * 1.3) + 1,
                   strategic=False, shape=("flat",))
        acc["util"] = level / acc["seats"]
        acc["no_metrics"] = False
    else:  # pragma: no cover - COHORTS and this function are kept in step
        raise AssertionError(cohort)
    if cohort != "outgrowing_plan" and acc["util"] * acc["seats"] < 1:
        acc["util"] = 1.0 / acc["seats"]
    if cohort not in ("healthy", "onboarding_ok"):
        acc["no_metrics"] = False  # every cohort needs its metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="the data directory to write")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--days", type=int, default=120, help="days of metrics")
    parser.add_argument("--as-of", default="2026-11-20", type=date.fromisoformat)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.accounts < 1 or args.days < 1:
        parser.error("--accounts and --days must be at least 1")
    generate(args.out, args.accounts, args.days, args.as_of, args.seed)


def generate(out: Path, n: int, days: int, asof: date, seed: int) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    back = max(days, HISTORY) + 400
    day = [(asof - timedelta(days=k)).isoformat() for k in range(back)]  # day[k]: k days ago

    def on(days_ago: int) -> str:  # any day, also in the future (negative)
        if 0 <= days_ago < back:
            return day[days_ago]
        return (asof - timedelta(days=days_ago)).isoformat()

    dates = [day[a] for a in range(days - 1, -1, -1)]
    shapes = Shapes(asof, days)
    noise = [rng.uniform(0.94, 1.06) for _ in range(NOISE_LEN + days)]
    cohorts = _cohort_sequence(n, rng)
    csms = [f"csm{k:02d}@example.com" for k in range(1, max(5, n // 25) + 1)]
    aes = [f"ae{k:02d}@example.com" for k in range(1, max(3, n // 40) + 1)]

    acc_rows: list[list[str]] = []
    team_rows: list[tuple[str, str, str]] = []
    event_rows: list[tuple[str, ...]] = []
    metric_chunks: list[str] = []

    with (out / "metrics.csv").open("w", encoding="utf-8", newline="") as metrics:
        metrics.write("account_id,metric,date,value\n")
        for i in range(n):
            acc = _base_account(i + 1, rng)
            cohort = cohorts[i]
            _apply_cohort(acc, cohort, rng)
            aid = acc["id"]
            missing = acc["missing"]

            # ---- accounts.csv
            values = {
                "name": acc["name"],
                "segment": acc["segment"],
                "region": acc["region"],
                "arr": str(acc["arr"]),
                "seats_purchased": str(acc["seats"]),
                "start_date": on(acc["start_ago"]),
                "renewal_date": on(-acc["renewal_in"]),
                "phase": acc["phase"],
                "csm_sentiment": str(acc["sentiment"]),
                "is_strategic": "true" if acc["strategic"] else "false",
            }
            acc_rows.append([aid] + ["" if f in missing else values[f] for f in ACCOUNT_FIELDS])

            # ---- team.csv: CSMs for larger accounts (a few lack one: owner chains fall
            # back), one AE for most, the region's CS leader, a champion for most
            seg = acc["segment"]
            t = rng.random()
            if (seg != "SMB" and t < 0.92) or (seg == "SMB" and t < 0.1):
                team_rows.append((aid, "CSM", csms[rng.randrange(len(csms))]))
            if rng.random() < 0.9:
                team_rows.append((aid, "AE", aes[rng.randrange(len(aes))]))
            if "region" not in missing:
                team_rows.append((aid, "CS_Leader", CS_LEADERS[acc["region"]]))
            if rng.random() < 0.75:
                domain = acc["name"].lower().replace(" ", "-") + ".example"
                team_rows.append((aid, "Champion",
                                  f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{domain}"))

            # ---- events.csv (oldest first per account)
            ev: list[tuple[int, str, str, str, str, str]] = []
            start_ago = acc["start_ago"]
            if 0 <= start_ago <= HISTORY and (start_ago >= 2 or cohort.startswith("new_customer")):
                ev.append((start_ago, "contract_signed", "", "", "", ""))
            first = acc["first_contract"]
            oldest = start_ago if first else HISTORY
            if acc["qbr_last"] is not None and seg != "SMB" and acc["phase"] != "onboarding":
                q = acc["qbr_last"]
                while q <= oldest:
                    ev.append((q, "qbr_held", "", "", "", ""))
                    q += 91
            for ago, score in acc["nps"]:
                if ago <= oldest:
                    pick = (DETRACTOR_COMMENTS if score <= 6 else PROMOTER_COMMENTS
                            if score >= 9 else NPS_COMMENTS)
                    comment = pick[ago % len(pick)]
                    ev.append((ago, "nps_response", str(score), comment, "", ""))
            for ago, severity in acc["esc"]:
                if ago <= oldest:
                    ev.append((ago, "support_escalation", "", "", severity, ""))
            for ago in acc["admin"]:
                if ago <= oldest:
                    ev.append((ago, "admin_added", "", "", "",
                               f"{FIRST[ago % len(FIRST)]}.{LAST[i % len(LAST)]}@"
                               + acc["name"].lower().replace(" ", "-") + ".example"))
            ev.sort(key=lambda e: (-e[0], e[1]))
            event_rows.extend((aid, e[1], on(e[0]), *e[2:]) for e in ev)

            # ---- metrics.csv: usage and logins, one row per day since the start of the
            # window (or of the first contract)
            if acc["no_metrics"]:
                continue
            first_index = max(0, days - 1 - start_ago) if first else 0
            if first_index >= days:
                continue
            shape = shapes.get(acc["shape"])
            level = acc["util"] * acc["seats"]
            cap = acc["seats"]
            off = rng.randrange(NOISE_LEN)
            off2 = rng.randrange(NOISE_LEN)
            ds = dates[first_index:]
            sh = shape[first_index:]
            usage = [min(cap, int(level * s * z + 0.5))
                     for s, z in zip(sh, noise[off + first_index:off + days], strict=True)]
            lpu = acc["lpu"]
            logins = [int(u * lpu * z + 0.5)
                      for u, z in zip(usage, noise[off2:off2 + days], strict=False)]
            p = aid + ",usage,"
            metric_chunks.append("".join([f"{p}{d},{v}\n"
                                          for d, v in zip(ds, usage, strict=True)]))
            p = aid + ",logins,"
            metric_chunks.append("".join([f"{p}{d},{v}\n"
                                          for d, v in zip(ds, logins, strict=True)]))
            if len(metric_chunks) >= 4000:
                metrics.writelines(metric_chunks)
                metric_chunks.clear()
        metrics.writelines(metric_chunks)

    def write(name: str, header: list[str], rows: list) -> None:
        with (out / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    write("accounts.csv", ["id", *ACCOUNT_FIELDS], acc_rows)
    write("team.csv", ["account_id", "role", "user"], team_rows)
    write("events.csv", ["account_id", "event", "date", *EVENT_FIELDS], event_rows)
    write("pools.csv", ["pool", "user"],
          [("Support", u) for u in SUPPORT_POOL] + [("Onboarders", u) for u in ONBOARDERS_POOL])


if __name__ == "__main__":
    main()
