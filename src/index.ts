// placeholder: the npm entry
export {};
