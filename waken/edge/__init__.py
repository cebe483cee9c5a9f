"""The HTTP edge every request passes: which paths are the API, CSRF and headers, CORS, rate limits, client addresses."""
