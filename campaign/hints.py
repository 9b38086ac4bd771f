"""What ``make run`` prints before serving: where mail goes, how to get a staff login."""

import os

from campaign.config import load_config


def main() -> None:
    """Print the development hints."""
    cfg = load_config()
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    print()
    print(f"  Campaign site: http://{host}:{port}/")
    if cfg.MAIL_BACKEND == "file":
        print(f"  Development mail: {cfg.MAIL_FILE_DIR} (one .eml file per message)")
    else:
        print(f"  Mail backend: {cfg.MAIL_BACKEND}")
    print("  Background worker: started beside the server (mail, packet builds, updates)")
    print("  Staff login: there is no default account or password. Create the first admin:")
    print("      .venv/bin/flask --app wsgi users create you@example.org --role admin")
    print(f"  then log in at http://{host}:{port}/staff/login")
    print()


if __name__ == "__main__":
    main()
