"""The runtime layer: the only code in Hearth that talks to Docker.

Code outside this package asks for app containers, networks and volumes in Hearth's terms
(an app id, a ContainerSpec) and never imports `docker` itself, so another backend (Swarm)
can stand behind the same functions later.
"""
