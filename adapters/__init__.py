"""Built-in adapters of flash-nas, registered through the flash_nas entry points."""
