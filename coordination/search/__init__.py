"""One search box across meetings, problems, solutions, actions, projects and organisations."""
