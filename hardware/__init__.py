"""Built-in hardware models of flash-nas, registered through the flash_nas entry points."""
