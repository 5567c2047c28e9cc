from paddler.cli.main import main

raise SystemExit(main())
