"""A JupyterHub spawner for imgctl's launcher test: KubeSpawner's profiles, podman's containers.

PodmanProfileSpawner takes ``profile_list`` in KubeSpawner's format -- what
``imgctl launcher jupyterhub`` writes as ``singleuser.profileList`` -- and
chooses from it as KubeSpawner does (kubespawner/spawner.py,
``load_user_options``): the profile named by ``user_options["profile"]``
(else the one marked default, else the first), its ``kubespawner_override``,
then for each of its ``profile_options`` the choice ``user_options[NAME]``
(else the choice marked default, else the first) and that choice's
``kubespawner_override``, applied in that order. It then runs the chosen
``image`` with podman, ``cpu_limit`` and ``mem_limit`` as the container's
limits, as a Kubernetes pod's limits would be. ``extra_resource_limits``
(GPUs) are refused: there is no GPU here.

Test fixture code: it is not part of imgctl.
"""

import asyncio
import json
import socket

from jupyterhub.spawner import Spawner
from tornado import web
from traitlets import Dict, List, Unicode


class PodmanProfileSpawner(Spawner):
    profile_list = List(config=True, help="KubeSpawner's profile_list")
    image = Unicode(config=True, help="the image to run (KubeSpawner's image)")
    extra_resource_limits = Dict(config=True)
    name_prefix = Unicode("imgctl-hub", config=True, help="container names start with it")
    podman = List(["podman"], config=True)

    # What the user chose, for the test to read back from the hub's log.
    chosen = Dict()

    @property
    def container_name(self):
        return f"{self.name_prefix}-{self.user.name}"

    def _override(self, override):
        for key, value in (override or {}).items():
            if not self.has_trait(key):
                raise web.HTTPError(400, f"kubespawner_override sets {key}, which this spawner does not know")
            setattr(self, key, value)

    def load_user_options(self):
        options = dict(self.user_options or {})
        profiles = self.profile_list
        if not profiles:
            raise web.HTTPError(500, "no profile_list")
        slug = options.get("profile")
        if slug is None:
            profile = next((p for p in profiles if p.get("default")), profiles[0])
        else:
            profile = next((p for p in profiles if p.get("slug") == slug), None)
            if profile is None:
                raise web.HTTPError(400, f"no profile {slug!r}")
        chosen = {"profile": profile["slug"]}
        self._override(profile.get("kubespawner_override"))
        for name, option in (profile.get("profile_options") or {}).items():
            choices = option["choices"]
            key = options.get(name)
            if key is None:
                key = next((k for k, c in choices.items() if c.get("default")), next(iter(choices)))
            if key not in choices:
                raise web.HTTPError(400, f"profile {profile['slug']!r} has no {name} {key!r}")
            chosen[name] = key
            self._override(choices[key].get("kubespawner_override"))
        self.chosen = chosen

    async def _podman(self, *args, check=True):
        proc = await asyncio.create_subprocess_exec(
            *self.podman, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        if check and proc.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: exit {proc.returncode}: {out.decode()}")
        return proc.returncode, out.decode()

    async def start(self):
        self.load_user_options()
        if self.extra_resource_limits:
            raise web.HTTPError(400, f"extra_resource_limits {self.extra_resource_limits}: no such resources here")
        if not self.image or "@sha256:" not in self.image:
            raise web.HTTPError(400, f"image {self.image!r} is not pinned by digest")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.ip, self.port = "127.0.0.1", s.getsockname()[1]
        s.close()
        env = self.get_env()
        args = ["run", "-d", "--name", self.container_name, "--network", "host", "--tls-verify=false"]
        if self.mem_limit:
            args += ["--memory", str(int(self.mem_limit))]
        if self.cpu_limit:
            args += ["--cpus", str(self.cpu_limit)]
        for key, value in sorted(env.items()):
            args += ["-e", f"{key}={value}"]
        args.append(self.image)
        args += self.cmd + self.get_args()
        await self._podman("rm", "-f", self.container_name, check=False)
        self.log.info("imgctl-test spawn %s %s", self.user.name, json.dumps(
            {"chosen": self.chosen, "image": self.image, "mem_limit": int(self.mem_limit or 0),
             "cpu_limit": self.cpu_limit}, sort_keys=True))
        await self._podman(*args)
        return self.ip, self.port

    async def poll(self):
        code, out = await self._podman(
            "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", self.container_name, check=False
        )
        if code != 0:
            return 0
        running, exit_code = out.split()
        if running == "true":
            return None
        _, logs = await self._podman("logs", "--tail", "30", self.container_name, check=False)
        self.log.error("imgctl-test %s exited %s:\n%s", self.container_name, exit_code, logs)
        return int(exit_code)

    async def stop(self, now=False):
        await self._podman("rm", "-f", "-t", "5", self.container_name, check=False)
