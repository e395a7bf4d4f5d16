"""Users, roles, jurisdiction scoping (Actor), tokens and the audit log."""
