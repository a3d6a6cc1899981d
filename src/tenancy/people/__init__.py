"""Stage 7, people: adopt tenancy in a repository (`init`, `scaffold`) and onboard or offboard a
person with one command (`edit` decides the change, `yaml_edit` writes it keeping comments)."""
