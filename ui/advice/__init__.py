"""The Advice requests page's parts: the list's model, the new-request form, the detail
view with the advice and its letter, and conversion into a referral."""
