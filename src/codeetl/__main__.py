from codeetl.cli import app

app()
