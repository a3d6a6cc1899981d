"""Stage 4, diff and access: what each person can do, computed from a render (`access`), how a
change moves it between two git revisions (`revision`, `changes`), and the reports auditors
read (`report`, `access_report`)."""
