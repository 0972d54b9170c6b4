// placeholder: the script-tag entry
export {};
