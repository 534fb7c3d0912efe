-- One database per service: services never read each other's tables.
CREATE DATABASE registry;
CREATE DATABASE funding;
CREATE DATABASE engagement;
CREATE DATABASE reporting;
