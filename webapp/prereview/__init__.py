"""Pre-review (预审查 / 三审): the register of lectures, forums, meetings and publications, and its stages."""
