"""fastinit-lint's rules, one module per rule; each rule class carries its docs and examples."""
