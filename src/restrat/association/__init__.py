"""The trade association: member price submissions, a reference price index and aggregates under disclosure
control."""
