"""Who may use the REST API: bearer tokens with a role and a subsidiary scope (model, service, API dependency)."""
