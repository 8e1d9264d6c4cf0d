// The snippet runs its program itself; a failure is an unhandled rejection, and node exits with 1.
console.log("quick start: started")
