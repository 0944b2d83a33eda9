"""The review service: every review queue and decision, with reasons and an audit trail."""
