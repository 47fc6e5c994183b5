"""Extra links of the Loopring operators and sensors."""
