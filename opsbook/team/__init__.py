"""The team: people and their identity, combining rules, the roster CSV, the team's outputs
(messages, the per-person sheet, the Word appendix), and the roll-up that puts them together."""
