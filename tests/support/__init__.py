"""What the tests share: real git repositories and workspaces, the in-process CLI runner, the
Docker engine and registries, and the secret scan. One module per kind of thing:

- git: `Repo` (a real repository in a tmp dir), `git`, and byte snapshots of a tree
- monorepo: this checkout's monorepo: a scratch copy, its services, realistic commits on it
- workspaces: the small Cargo workspace behind the `mini` fixture
- gen: random Cargo workspaces as plain files (checked against `cargo metadata`)
- strategies: hypothesis strategies and the "only BuildctlError" check of the parser properties
- cli: running buildctl in-process (`run`, `affected`, `refused`...) and through the console script
- gha: the GitHub Actions runner's side: workflow commands, the outputs file, steps' scripts
- kustomize: a plain directory holding kustomization fixtures, for `bump`
- remote: a bare remote and its clones, for the git write side of `bump`
- cargo: the workspace model next to `cargo metadata`'s reading of it
- docker: the real Docker engine, base images, registries and the images a session made
- net: a free local port
- secrets: running commands with the well-known fake tokens in the environment
- secret_scan: the pytest plugin that fails the session when a fake token shows anywhere
- markers: each folder's marker, applied by that folder's conftest.py
"""
