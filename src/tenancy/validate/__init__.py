"""Stage 2, validation: the config resolved (`config`), the inputs checked against JSON Schema
(`schema`) and the Rego policies (`policy`, `check`), waivers applied (`waivers`). Its
answer is a `Report` of findings at `file:line:col`; nothing is rendered yet."""
