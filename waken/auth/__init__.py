"""Who may call: API tokens and their scopes (the Bearer check), and the admin sessions kept on the server."""
