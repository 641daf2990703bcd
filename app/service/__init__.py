"""The GitHub App: `create_app(settings)` in app.service.app; webhooks into a durable inbox, workers
running the handlers, effects applied by app.github.apply. See docs/app.md."""
