from waken import create_app

app = create_app()
