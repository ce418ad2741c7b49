"""The team: people and their identity, combining rules, the roster CSV, and the team's
outputs (messages, the per-person sheet, the Word appendix). opsbook.rollup puts them together."""
