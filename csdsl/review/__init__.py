"""Review tools: what a spec change does (`csdsl diff`) and what a spec would have done
over past days (`csdsl backtest`). Each command module keeps its top-level imports to
the standard library, so that building the command line stays cheap."""
