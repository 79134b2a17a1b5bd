// Package launcher makes the lists data scientists start sessions from,
// kept in step with what was published: JupyterHub's profileList (Helm
// values for zero-to-jupyterhub, in KubeSpawner's format), a Kubeflow
// Notebooks spawner_ui_config.yaml, and the same data as documented JSON
// (format_version "1") for in-house portals.
//
// Every output is a pure function of one observation of the registry
// (a status.Report) and the specs (images, size presets), judged on one
// day: each image that is published, not retired and starts a session
// server (spec: server, inherited from the parent) is offered, pinned
// by digest (never a moving tag), with its latest version first and then
// every deprecated version still before its end of life, and with the
// size presets it offers (the default first). Versions past their end of
// life and retired images are not offered. JupyterHub lists the Jupyter
// images; Kubeflow lists Jupyter, VS Code and RStudio images in its three
// lists; the JSON lists them all with their server.
//
// It reads nothing itself: no registry, no clock, no files.
package launcher
