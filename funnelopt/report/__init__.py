"""Reports: plans, outcomes and sweeps rendered for people (text, Markdown) and programs (CSV)."""
