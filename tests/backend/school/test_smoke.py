from tests.backend.school.conftest import World


def test_world_builds(world: World) -> None:
    reply = world.client.get("/api/v1/schools/school-1/pupils", headers=world.auth("staff_a"))
    assert [p["name"] for p in reply.json()] == ["Aruzhan", "Timur"]
